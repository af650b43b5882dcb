// The webview side of the panel channel: one acquireVsCodeApi(), envelopes from src/protocol.ts.
import type { Envelope, FromWebviewMessage, PanelSnapshot, ToWebviewMessage } from '../src/protocol';
import { MessageHandler } from '../src/protocol';
import type { Column, Direction } from './layerRows';

interface VsCodeApi<S> {
  postMessage(msg: unknown): void;
  getState(): S | undefined;
  setState(s: S): void;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

/** How the user left the layer table (sort, filter, highlight): kept with the snapshot across reloads. */
export interface TableView {
  sort?: Column;
  dir: Direction;
  filter: string;
  highlight?: number; // percent; rows above it are marked
  metric: 'accuracy' | 'loss'; // what the sensitivity chart plots
}

export interface SavedState {
  snapshot?: PanelSnapshot;
  view?: Partial<TableView>;
}

const api = acquireVsCodeApi<SavedState>();

export function savedState(): SavedState {
  return api.getState() ?? {};
}
export function saveState(s: SavedState): void {
  api.setState(s);
}

export function connect(onMessage: (m: ToWebviewMessage) => void): MessageHandler<FromWebviewMessage, ToWebviewMessage> {
  const channel = new MessageHandler<FromWebviewMessage, ToWebviewMessage>(
    env => api.postMessage(env),
    body => onMessage(body),
  );
  window.addEventListener('message', (e: MessageEvent<Envelope<ToWebviewMessage>>) => channel.handleMessage(e.data));
  return channel;
}
