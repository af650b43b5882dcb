// The webview side of the panel channel: one acquireVsCodeApi(), envelopes from src/protocol.ts.
import type { Envelope, FromWebviewMessage, PanelSnapshot, ToWebviewMessage } from '../src/protocol';
import { MessageHandler } from '../src/protocol';

interface VsCodeApi<S> { postMessage(msg: unknown): void; getState(): S | undefined; setState(s: S): void }
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export interface SavedState { snapshot?: PanelSnapshot; view?: Partial<import('./viewState').TableView> }

const api = acquireVsCodeApi<SavedState>();

export function savedState(): SavedState { return api.getState() ?? {}; }
export function saveState(s: SavedState): void { api.setState(s); }

export function connect(onMessage: (m: ToWebviewMessage) => void): MessageHandler<FromWebviewMessage, ToWebviewMessage> {
  const channel = new MessageHandler<FromWebviewMessage, ToWebviewMessage>(env => api.postMessage(env), body => onMessage(body));
  window.addEventListener('message', (e: MessageEvent<Envelope<ToWebviewMessage>>) => channel.handleMessage(e.data));
  return channel;
}
