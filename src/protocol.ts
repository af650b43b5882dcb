// Every message between extension host ⇄ worker process and extension host ⇄ webview panel.
// Imported by src/extension, src/worker and webview/ — it must stay free of `vscode`, Node and DOM APIs.
// Engine types come in type-only, so nothing of the engine (nor TF.js) is ever bundled through this file.
import type {
  PruneOptions, PruneEvent, PruneReport, LayerResult, PrunableLayer, EvalResult, Stage, Method, MemoryPlan,
} from './engine/types';

/** Engine defaults (a plain constant of the pure types module; no engine code comes with it). */
export { DEFAULT_OPTIONS } from './engine/types';
export type { PruneOptions, PruneEvent, PruneReport, LayerResult, PrunableLayer, EvalResult, Stage, Method, MemoryPlan };
/** One point of a sparsity sweep, as the engine's sweep.json holds it. */
export type { SweepPoint } from './engine/report/sweep-result';
import type { SweepPoint } from './engine/report/sweep-result';

/** The envelope every message travels in. */
export interface Envelope<T> { body: T }

// ───────────────────────────── host → worker ─────────────────────────────

export interface StartPruneMessage { type: 'start'; options: PruneOptions }
export interface StartSweepMessage { type: 'sweep'; options: PruneOptions; sparsities: number[]; methods: Method[] }
export interface CancelMessage { type: 'cancel' }
export type ToWorkerMessage = StartPruneMessage | StartSweepMessage | CancelMessage;

// ───────────────────────────── worker → host ─────────────────────────────

export interface ReadyMessage { type: 'ready'; pid: number }
export interface EventMessage { type: 'event'; event: PruneEvent }
export interface DoneMessage { type: 'done'; report: PruneReport; reportPath: string; modelPath: string }
export interface SweepPointMessage { type: 'sweepPoint'; point: SweepPoint }
export interface SweepDoneMessage { type: 'sweepDone'; points: SweepPoint[]; baseline?: EvalResult }
/** `code` is a WoodFisherError code, or 'INTERNAL' for anything unexpected. `message` never carries a stack. */
export interface ErrorMessage { type: 'error'; message: string; code: string }
export type FromWorkerMessage = ReadyMessage | EventMessage | DoneMessage | SweepPointMessage | SweepDoneMessage | ErrorMessage;

// ───────────────────────────── host ⇄ webview ─────────────────────────────

export type RunStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'error';
export type StageProgress = Extract<PruneEvent, { type: 'stage' }>;

/**
 * Everything the panel shows. The host keeps the latest one per model and re-sends it whenever the panel
 * (re)appears; the webview stores it with setState so a reload restores it.
 */
export interface PanelSnapshot {
  modelPath: string;
  title: string;
  mode: 'prune' | 'sweep';
  status: RunStatus;
  error?: string;
  stage?: StageProgress;
  backend?: string;
  damp?: number;                 // the λ used (chosen by damp 'auto', or given)
  plan?: PrunableLayer[];
  memory?: MemoryPlan;
  layers: LayerResult[];
  before?: EvalResult;
  after?: EvalResult;
  sparsity?: PruneReport['sparsity'];
  structure?: PruneReport['structure'];   // structure 'neurons': units, params, FLOPs, latency before/after
  seconds?: number;
  outDir?: string;
  reportPath?: string;
  sweep?: SweepPoint[];
  log: string[];
}

export interface SnapshotMessage { type: 'snapshot'; snapshot: PanelSnapshot }
export interface RevealLayerMessage { type: 'revealLayer'; name: string }
export type ToWebviewMessage = SnapshotMessage | RevealLayerMessage;

export interface WebviewReadyMessage { type: 'ready' }
export interface WebviewActionMessage { type: 'openModel' | 'openReport' | 'runAgain' | 'sweep' | 'cancel' }
export interface WebviewShowLayerMessage { type: 'showLayerInModel'; name: string }
export type FromWebviewMessage = WebviewReadyMessage | WebviewActionMessage | WebviewShowLayerMessage;

// ───────────────────────────── the message handler ─────────────────────────────

/** One small handler for both channels: `sendEvent` posts a message, `handleMessage` unwraps an incoming one. */
export class MessageHandler<TSend, TReceive> {
  constructor(
    private readonly post: (envelope: Envelope<TSend>) => void,
    private readonly onMessage: (body: TReceive) => void,
  ) {}

  sendEvent(body: TSend): void {
    this.post({ body });
  }

  handleMessage(envelope: Envelope<TReceive>): void {
    if (!envelope || typeof envelope !== 'object' || !('body' in envelope)) return;
    this.onMessage(envelope.body);
  }
}
