// Every message between extension host ⇄ worker process and extension host ⇄ webview panel.
// Imported by src/extension, src/worker and webview/ — it must stay free of `vscode`, Node and DOM APIs.
// Engine types come in type-only; of the engine's code only small pure pieces come through (DEFAULT_OPTIONS, stageLabel,
// formatBytes), never TF.js — scripts/check-tree.mjs checks what the webview bundle holds.
import type {
  PruneOptions,
  PruneEvent,
  PruneReport,
  LayerResult,
  PrunableLayer,
  EvalResult,
  Stage,
  Method,
  MemoryPlan,
  SizeFigures,
  GradualOptions,
  GradualEvent,
  GradualReport,
  GradualSchedule,
  GradualSettings,
  EpochRecord,
} from './engine/types';
import type { SensitivityPoint, SensitivityResult } from './engine/sensitivity';

/** Engine defaults (a plain constant of the pure types module; no engine code comes with it). */
export { DEFAULT_OPTIONS } from './engine/types';
/** How a stage event reads (a pure function of engine/stages.ts, which imports nothing but types). */
export { stageLabel } from './engine/stages';
/** Byte sizes for people, as the CLI prints them (engine/report/bytes.ts). */
export { formatBytes } from './engine/report/bytes';
export { evalTerms } from './engine/report/evalTerms';
/** The sweep chart's log-density axis (pure, no imports), shared with the CLI's sweep.svg. */
export { densityX, sparsityAtX, densityTicks, sparsityLabel } from './engine/report/densityAxis';
export type { PruneOptions, PruneEvent, PruneReport, LayerResult, PrunableLayer, EvalResult, Stage, Method, MemoryPlan, SizeFigures };
export type { SensitivityPoint, SensitivityResult };
export type { GradualOptions, GradualEvent, GradualReport, GradualSchedule, GradualSettings, EpochRecord };
/** One point of a sparsity sweep, as the engine's sweep.json holds it. */
export type { SweepPoint } from './engine/report/sweep-result';
import type { SweepPoint } from './engine/report/sweep-result';

/** The envelope every message travels in. */
export interface Envelope<T> {
  body: T;
}

// ───────────────────────────── host → worker ─────────────────────────────

export interface StartPruneMessage {
  type: 'start';
  options: PruneOptions;
}
export interface StartSweepMessage {
  type: 'sweep';
  options: PruneOptions;
  sparsities: number[];
  methods: Method[];
  gradual?: GradualSettings;
}
export interface StartGradualMessage {
  type: 'gradual';
  options: GradualOptions;
}
/** Each layer pruned alone to each sparsity (engine/sensitivity.ts); `layers` limits the scan. Writes nothing. */
export interface StartSensitivityMessage {
  type: 'sensitivity';
  options: PruneOptions;
  sparsities: number[];
  layers?: string[];
}
export interface CancelMessage {
  type: 'cancel';
}
export type ToWorkerMessage = StartPruneMessage | StartSweepMessage | StartGradualMessage | StartSensitivityMessage | CancelMessage;

// ───────────────────────────── worker → host ─────────────────────────────

export interface ReadyMessage {
  type: 'ready';
  pid: number;
}
export interface EventMessage {
  type: 'event';
  event: GradualEvent;
} // PruneEvent, or a gradual run's own
/** The run's report and where its report.json was written (the pruned model is beside it, in report.output). */
export interface DoneMessage {
  type: 'done';
  report: PruneReport | GradualReport; // a gradual run's report adds its schedule, epochs and pruning steps
  reportPath: string;
}
export interface SweepPointMessage {
  type: 'sweepPoint';
  point: SweepPoint;
}
export interface SweepDoneMessage {
  type: 'sweepDone';
  points: SweepPoint[];
  baseline?: EvalResult;
  inputSize?: SizeFigures;
}
export interface SensitivityPointMessage {
  type: 'sensitivityPoint';
  point: SensitivityPoint;
}
export interface SensitivityDoneMessage {
  type: 'sensitivityDone';
  result: SensitivityResult;
}
/** `code` is a WoodFisherError code, or 'INTERNAL' for anything unexpected. `message` never carries a stack. */
export interface ErrorMessage {
  type: 'error';
  message: string;
  code: string;
}
export type FromWorkerMessage =
  | ReadyMessage
  | EventMessage
  | DoneMessage
  | SweepPointMessage
  | SweepDoneMessage
  | SensitivityPointMessage
  | SensitivityDoneMessage
  | ErrorMessage;

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
  mode: 'prune' | 'sweep' | 'gradual';
  status: RunStatus;
  error?: string;
  stage?: StageProgress;
  backend?: string;
  notes?: string[]; // what a faster runtime would give and how to get it (report.backendNote, linalgNote)
  damp?: number; // the λ used (chosen by damp 'auto', or given)
  prunable?: PrunableLayer[]; // the model's prunable layers (the 'plan' event), in model order
  memory?: MemoryPlan;
  layers: LayerResult[];
  before?: EvalResult;
  after?: EvalResult;
  sparsity?: PruneReport['sparsity'];
  structure?: PruneReport['structure']; // structure 'neurons': units, params, FLOPs, latency before/after
  seconds?: number;
  outDir?: string;
  reportPath?: string;
  sweep?: SweepPoint[];
  sweepEpochs?: number; // a gradual sweep: every point pruned on the schedule with this many epochs of fine-tuning
  sensitivity?: SensitivityView;
  size?: PruneReport['size']; // model.json + shards, input and output: raw, gzip, brotli
  inputSize?: SizeFigures; // a sweep's input model (the dense point of the size chart)
  encodings?: string; // the written weights' encodings, e.g. 'uint8' or 'float32+uint8'
  gradual?: GradualView;
  log: string[];
}

/** A gradual run as the panel shows it: the schedule, a row per epoch (curves, sparsity per layer), a row per step. */
export interface GradualView {
  schedule?: GradualSchedule;
  epochs: EpochRecord[];
  steps: { k: number; epoch: number; target: number; achieved: number; accuracy?: number; skipped?: boolean }[];
  checkpoint?: number; // the epoch of the last checkpoint in outDir (kept by a cancel; --resume continues it)
  finished?: boolean;
}

/** The per-layer sensitivity scan as the panel shows it (kept across prune runs of the same model). */
export interface SensitivityView {
  status: RunStatus;
  method: Method;
  on?: 'eval' | 'calibration';
  dense?: EvalResult;
  sparsities: number[];
  layers: string[];
  points: SensitivityPoint[];
}

export interface SnapshotMessage {
  type: 'snapshot';
  snapshot: PanelSnapshot;
}
export interface RevealLayerMessage {
  type: 'revealLayer';
  name: string;
}
export type ToWebviewMessage = SnapshotMessage | RevealLayerMessage;

export interface WebviewReadyMessage {
  type: 'ready';
}
export interface WebviewActionMessage {
  type: 'openModel' | 'openReport' | 'runAgain' | 'sweep' | 'cancel';
}
export interface WebviewShowLayerMessage {
  type: 'showLayerInModel';
  name: string;
}
/** Scan each layer alone (the panel's "Layer Sensitivity" button). */
export interface WebviewSensitivityMessage {
  type: 'sensitivity';
}
/** Write `layers: { <name>: { sparsity } }` into the model's recipe (a click on the sensitivity chart). */
export interface WebviewSetOverrideMessage {
  type: 'setLayerOverride';
  name: string;
  sparsity: number;
}
/** Save a chart: PNG from the canvas (`dataUrl`), or SVG drawn by the host (the sweep, engine/report/svg.ts). */
export interface WebviewSaveChartMessage {
  type: 'saveChart';
  chart: string;
  format: 'png' | 'svg';
  dataUrl?: string;
}
export type FromWebviewMessage =
  | WebviewReadyMessage
  | WebviewActionMessage
  | WebviewShowLayerMessage
  | WebviewSensitivityMessage
  | WebviewSetOverrideMessage
  | WebviewSaveChartMessage;

/** Each webview message's check of its fields; a Record over the union's types, so a new message cannot be forgotten. */
const WEBVIEW_MESSAGE_CHECKS: Record<FromWebviewMessage['type'], (b: Record<string, unknown>) => boolean> = {
  ready: () => true,
  openModel: () => true,
  openReport: () => true,
  runAgain: () => true,
  sweep: () => true,
  cancel: () => true,
  sensitivity: () => true,
  showLayerInModel: b => isName(b.name),
  setLayerOverride: b => isName(b.name) && typeof b.sparsity === 'number' && b.sparsity >= 0 && b.sparsity < 1,
  saveChart: b =>
    typeof b.chart === 'string' &&
    b.chart.length < 100 &&
    (b.format === 'png' || b.format === 'svg') &&
    (b.dataUrl === undefined || (typeof b.dataUrl === 'string' && b.dataUrl.startsWith('data:image/png;base64,'))),
};
const isName = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length < 1000;

/** The webview is untrusted input: an envelope is used only when its body is one of the messages above. */
export function isWebviewEnvelope(m: unknown): m is Envelope<FromWebviewMessage> {
  const body = (m as { body?: unknown } | null)?.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || typeof body.type !== 'string') return false;
  const check = Object.prototype.hasOwnProperty.call(WEBVIEW_MESSAGE_CHECKS, body.type)
    ? WEBVIEW_MESSAGE_CHECKS[body.type as FromWebviewMessage['type']]
    : undefined;
  return !!check && check(body);
}

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
