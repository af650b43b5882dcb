import type { OutputClaim } from './output/claim';
// The engine's public vocabulary: options in, events and a report out.
// Pure types, imported (type-only) by the worker, the CLI, the extension and the webview through src/protocol.ts.

export type Method = 'woodfisher' | 'woodtaylor' | 'diagfisher' | 'magnitude' | 'global-magnitude';
export type Scope = 'global' | 'layer';
export type UpdateKind = 'independent' | 'joint' | 'none';
export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type InverseForm = 'auto' | 'primal' | 'dual' | 'recursive';
export type RecomputeSchedule = 'linear' | 'polynomial';
export type PrunableKind = 'Dense' | 'Conv2D' | 'DepthwiseConv2D' | 'Conv1D';

/** Per-layer override: its own target sparsity, or left dense. */
export interface LayerOverride { sparsity?: number; exclude?: boolean }

/** Everything one pruning run needs. Paths are absolute (the CLI/recipe loader resolves them). */
export interface PruneOptions {
  modelPath: string;            // model.json of a TF.js layers-model
  dataPath: string;             // calibration inputs: .npy (x) or .npz (x, y)
  labelsPath?: string;          // .npy labels (class indices or one-hot); none -> labels sampled from the model
  sampleLabels?: boolean;       // sample labels from the model's softmax even when given (the "true" Fisher)
  sparsity: number;             // target fraction of prunable weights set to zero, in [0, 1)
  pattern?: string;             // 'N:M' (e.g. '2:4'): at most N non-zeros per M consecutive weights; sets sparsity to (M−N)/M
  method: Method;
  samples: number;              // N: number of per-sample gradients
  blockSize: number;            // B: weights per Fisher block (contiguous in PyTorch layout)
  damp: number | 'auto';        // λ: F = λI + (1/N) Σ g gᵀ; 'auto' picks it from the data (see DAMP_SEARCH in damp.ts)
  scope: Scope;
  update: UpdateKind;
  recompute: number;            // K sub-steps, gradients and inverses re-estimated each time
  recomputeSchedule: RecomputeSchedule;
  inverseForm: InverseForm;     // primal (b×b), dual (N×N), recursive (paper), or auto by cost
  layers: Record<string, LayerOverride>;
  evalPath?: string;
  evalLabelsPath?: string;
  backend: BackendName;
  threads?: number;             // worker threads for the Fisher blocks (default: the machine's cores, at most 8)
  outDir: string;               // must not be the model's own folder; written atomically
  maxMemoryBytes?: number;      // default: a safe fraction of free RAM
  shuffle: boolean;             // false: the first N samples in file order
  seed: number;
  structure?: Structure;        // 'neurons': remove whole units (sparsity = fraction of units); default 'weights'
  targetFlops?: number;         // structure 'neurons': remove units until FLOPs ≤ this fraction of the dense model's
  minKeep?: number;             // structure 'neurons': each layer keeps ≥ max(1, ⌈minKeep·units⌉) units (default 0.1)
}

export type Structure = 'weights' | 'neurons';

export const DEFAULT_OPTIONS: Omit<PruneOptions, 'modelPath' | 'dataPath' | 'outDir' | 'sparsity'> = {
  method: 'woodfisher', samples: 256, blockSize: 1000, damp: 1e-5, scope: 'global', update: 'independent',
  recompute: 1, recomputeSchedule: 'linear', inverseForm: 'auto', layers: {}, backend: 'auto',
  shuffle: false, seed: 0,
};

/** A prunable weight tensor of the model (the kernel of a Dense/Conv layer). */
export interface PrunableLayer {
  name: string;                 // layer name in model.json
  kind: PrunableKind;
  weightName: string;           // e.g. "dense_1/kernel"
  shape: number[];              // TF.js shape (Dense [in, out], Conv2D [kh, kw, in, out], …)
  torchShape: number[];         // the paper's layout (Dense [out, in], Conv2D [out, in, kh, kw], …)
  size: number;                 // number of weights
}

export type Stage = 'load' | 'gradients' | 'blocks' | 'selection' | 'update' | 'evaluate' | 'save';

export interface LayerResult {
  name: string;
  kind: PrunableKind;
  weights: number;
  pruned: number;
  sparsity: number;             // pruned / weights
  threshold: number;            // largest saliency among the pruned weights of this layer (NaN if none)
  saliency: { min: number; median: number; max: number };
  histogram?: { edges: number[]; counts: number[] };  // log10(saliency) histogram, for the panel
  blocks: number;
  form?: string;                // inverse form(s) of its blocks: 'dual', 'primal', 'dual+primal' (most used first), 'diagonal', 'none'
  excluded?: boolean;
  units?: { kept: number; of: number }; // structure 'neurons': output units kept (the layer is physically smaller)
}

export interface EvalResult { accuracy: number; loss: number; samples: number }

export interface MemoryPlan {
  items: { what: string; bytes: number }[];
  totalBytes: number;
  limitBytes: number;
  fits: boolean;
  strategy?: 'keep' | 'rebuild';   // inverse blocks kept until the update, or rebuilt one at a time
}

export interface PruneReport {
  version: 1;
  model: string;
  output: string;
  settings: Omit<PruneOptions, 'outDir' | 'modelPath'> & { labels: 'given' | 'sampled' };
  backend: string;              // the TF.js backend that actually ran (model, gradients)
  linalg?: string;              // the matrix-product provider of the Fisher math ('onnxruntime-f64' or 'js')
  host?: string;                // the machine the run used: 'name (linux-x64, 8 cores, 31 GB)' (remote windows: the remote host)
  linalgNote?: string;          // why the products ran in plain JS when onnxruntime-node was expected, with the fix
  sparsity: { target: number; achieved: number; pruned: number; weights: number };
  layers: LayerResult[];
  before?: EvalResult;
  after?: EvalResult;
  seconds: Partial<Record<Stage, number>> & { total: number };
  memory: MemoryPlan;
  steps: number;                // recompute sub-steps actually run
  damp?: number;                // the λ used (the chosen one with damp 'auto')
  dampSearch?: { damp: number; relative: number; loss: number; accuracy: number }[]; // damp 'auto': calibration loss per candidate
  structure?: StructureReport;  // structure 'neurons'
}

/** Model cost, measured on the backend that ran: latency is the median of repeated model.predict calls. */
export interface ModelCost { params: number; flops: number; latencyMs: { batch1: number; batch32: number } }

export interface StructureReport {
  units: { removed: number; removable: number; total: number };  // output units of Dense/Conv layers
  classes: number;              // removable unit classes (channels tied by residual Adds count once)
  update: 'group' | 'none';     // group OBS update δw = −F⁻¹E_Q(E_QᵀF⁻¹E_Q)⁻¹E_Qᵀw, or only removal
  targetFlops?: number;
  before: ModelCost;
  after: ModelCost;
  notes: string[];              // channels left alone and why
}

/** Streamed while a run goes on; the worker forwards these as protocol messages. */
export type PruneEvent =
  | { type: 'stage'; stage: Stage; done: number; total: number; layer?: string; step?: number; steps?: number; message?: string }
  | { type: 'plan'; layers: PrunableLayer[]; memory: MemoryPlan; backend: string }
  | { type: 'layer'; result: LayerResult; step: number }
  | { type: 'eval'; which: 'before' | 'after'; result: EvalResult }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'damp'; damp: number; relative: number; loss: number; accuracy: number; chosen?: boolean }
  | { type: 'done'; report: PruneReport; reportPath: string; modelPath: string };

export interface RunHooks {
  onEvent?: (e: PruneEvent) => void;
  signal?: AbortSignal;
  /** Where the result goes when a caller already claimed it (a sweep's runs); default: claimOutput(options.outDir). */
  output?: OutputClaim;
}

/** Every error meant for the user: one clear message, and which input it concerns. */
export class WoodFisherError extends Error {
  constructor(message: string, readonly code: ErrorCode, readonly detail?: { file?: string; line?: number; column?: number; path?: string }) {
    super(message);
    this.name = 'WoodFisherError';
  }
}
export type ErrorCode =
  | 'MODEL_FORMAT' | 'MODEL_SHARD' | 'MODEL_PATH' | 'MODEL_NAN' | 'UNSUPPORTED_LAYER'
  | 'DATA_FORMAT' | 'DATA_SHAPE' | 'LABELS' | 'RECIPE' | 'OPTIONS' | 'MEMORY' | 'OUTPUT' | 'NUMERIC'
  | 'BACKEND' | 'CANCELLED';
