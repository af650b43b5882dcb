// The engine's public vocabulary: options in, events and a report out.
// Types and plain constants (no code): imported by the worker, the CLI, the extension and, type-only, the webview
// through src/protocol.ts.

// Each option's values, listed once: the types come from these lists; the CLI's choices and the checks read them;
// the JSON schema and package.json repeat them for editors, and a test keeps those copies equal.
export const METHOD_NAMES = ['woodfisher', 'woodtaylor', 'diagfisher', 'magnitude', 'global-magnitude'] as const;
export const SCOPES = ['global', 'layer'] as const;
export const UPDATE_KINDS = ['independent', 'joint', 'none'] as const;
export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export const INVERSE_FORMS = ['auto', 'primal', 'dual', 'recursive'] as const;
export const RECOMPUTE_SCHEDULES = ['linear', 'polynomial'] as const;
/** Layers whose kernel WoodFisher prunes (model/load.ts finds them; the extension's model.json lenses too). */
export const PRUNABLE_KINDS = ['Dense', 'Conv2D', 'DepthwiseConv2D', 'Conv1D'] as const;

export type Method = (typeof METHOD_NAMES)[number];
export type Scope = (typeof SCOPES)[number];
export type UpdateKind = (typeof UPDATE_KINDS)[number];
export type BackendName = (typeof BACKEND_NAMES)[number];
export type InverseForm = (typeof INVERSE_FORMS)[number];
export type RecomputeSchedule = (typeof RECOMPUTE_SCHEDULES)[number];
export type PrunableKind = (typeof PRUNABLE_KINDS)[number];

/** How a weight is stored in the output: 'float32' unquantized, or as TF.js's manifest quantization dtypes. */
export type Encoding = 'float32' | 'float16' | 'uint16' | 'uint8';
/** What a run writes: 'keep' each weight's input encoding; 'none' float32; or that encoding for every weight. */
export type QuantizeMode = 'keep' | 'none' | 'float16' | 'uint16' | 'uint8';

/** Per-layer override: its own target sparsity, left dense, its own cap under global selection, or its own encoding. */
export interface LayerOverride {
  sparsity?: number;
  exclude?: boolean;
  maxSparsity?: number;
  quantize?: QuantizeMode;
}

/** Everything one pruning run needs. Paths are absolute (the CLI/recipe loader resolves them). */
export interface PruneOptions {
  modelPath: string; // model.json of a TF.js layers-model
  dataPath: string; // calibration inputs: .npy (x) or .npz (x, y)
  labelsPath?: string; // .npy labels (class indices or one-hot); none -> labels sampled from the model
  sampleLabels?: boolean; // sample labels from the model's softmax even when given (the "true" Fisher)
  sparsity: number; // target fraction of prunable weights set to zero, in [0, 1)
  pattern?: string; // 'N:M' (e.g. '2:4'): at most N non-zeros per M consecutive weights; sets sparsity to (M−N)/M
  method: Method;
  samples: number; // N: number of per-sample gradients
  blockSize: number; // B: weights per Fisher block (contiguous in PyTorch layout)
  damp: number | 'auto'; // λ: F = λI + (1/N) Σ g gᵀ; 'auto' picks it from the data (see DAMP_SEARCH in damp.ts)
  scope: Scope;
  update: UpdateKind;
  recompute: number; // K sub-steps, gradients and inverses re-estimated each time
  recomputeSchedule: RecomputeSchedule;
  inverseForm: InverseForm; // primal (b×b), dual (N×N), recursive (paper), or auto by cost
  layers: Record<string, LayerOverride>;
  maxLayerSparsity?: number; // global selection leaves every layer at most this sparse (default 0.99; 1: no cap)
  quantize?: QuantizeMode; // encoding of the written weights (default 'keep': as in the input); pruned zeros stay exactly 0
  targetSize?: number; // gzip bytes of model.json + shards to meet: sparsity (and encoding) chosen to fit
  evalPath?: string;
  evalLabelsPath?: string;
  backend: BackendName;
  threads?: number; // worker threads for the Fisher blocks (default: the machine's cores, at most 8)
  outDir: string; // must not be the model's own folder; written atomically
  maxMemoryBytes?: number; // default: a safe fraction of free RAM
  shuffle: boolean; // false: the first N samples in file order
  seed: number;
  structure?: Structure; // 'neurons': remove whole units (sparsity = fraction of units); default 'weights'
  targetFlops?: number; // structure 'neurons': remove units until FLOPs ≤ this fraction of the dense model's
  minKeep?: number; // structure 'neurons': each layer keeps ≥ max(1, ⌈minKeep·units⌉) units (default 0.1)
}

export type Structure = 'weights' | 'neurons';

export const DEFAULT_OPTIONS: Omit<PruneOptions, 'modelPath' | 'dataPath' | 'outDir' | 'sparsity'> = {
  method: 'woodfisher',
  samples: 256,
  blockSize: 1000,
  damp: 1e-5,
  scope: 'global',
  update: 'independent',
  recompute: 1,
  recomputeSchedule: 'linear',
  inverseForm: 'auto',
  layers: {},
  backend: 'auto',
  shuffle: false,
  seed: 0,
  maxLayerSparsity: 0.99,
};

/** A prunable weight tensor of the model (the kernel of a Dense/Conv layer). */
export interface PrunableLayer {
  name: string; // layer name in model.json
  kind: PrunableKind;
  weightName: string; // e.g. "dense_1/kernel"
  shape: number[]; // TF.js shape (Dense [in, out], Conv2D [kh, kw, in, out], …)
  torchShape: number[]; // the paper's layout (Dense [out, in], Conv2D [out, in, kh, kw], …)
  size: number; // number of weights
}

export type Stage = 'load' | 'gradients' | 'blocks' | 'selection' | 'update' | 'evaluate' | 'save' | 'train';

export interface LayerResult {
  name: string;
  kind: PrunableKind;
  weights: number;
  pruned: number;
  sparsity: number; // pruned / weights
  threshold: number; // largest saliency among the pruned weights of this layer (NaN if none)
  saliency: { min: number; median: number; max: number };
  histogram?: { edges: number[]; counts: number[] }; // log10(saliency) histogram, for the panel
  blocks: number;
  form?: string; // inverse form(s) of its blocks: 'dual', 'primal', 'dual+primal' (most used first), 'diagonal', 'none'
  excluded?: boolean;
  units?: { kept: number; of: number }; // structure 'neurons': output units kept (the layer is physically smaller)
}

/** Accuracy and mean cross-entropy against the labels; with unlabeled evaluation data (reference 'dense'), accuracy is
 *  the top-1 agreement with the dense model's predictions and loss the mean KL(dense ‖ pruned) in nats. */
export interface EvalResult {
  accuracy: number;
  loss: number;
  samples: number;
  reference?: 'labels' | 'dense';
}

export interface MemoryPlan {
  items: { what: string; bytes: number }[];
  totalBytes: number;
  limitBytes: number;
  fits: boolean;
  strategy?: 'keep' | 'rebuild'; // inverse blocks kept until the update, or rebuilt one at a time
  gradients?: 'in memory' | 'streamed'; // N × d gradients at once, or one layer group at a time (recomputed per group)
  groups?: string[][]; // streamed: the layer groups, in the order their gradients are computed
  why?: string; // the choice, in one sentence
}

/** Bytes of model.json + shards: raw, and each file compressed as a server sends it (gzip -9, brotli quality 9). */
export interface SizeFigures {
  raw: number;
  gzip: number;
  brotli: number;
  files: number;
}

/** What writing the weights in their encodings did to them: ŵ the values as TF.js decodes them, w as computed. */
export interface QuantizationReport {
  mode: QuantizeMode;
  encodings: Partial<Record<Encoding | 'raw', number>>; // weight tensors written in each encoding
  relError: number; // ‖ŵ − w‖ / ‖w‖ over all float weights together
  maxRelError: number; // the worst single weight tensor's ‖ŵ − w‖ / ‖w‖
  weights: { name: string; layer?: string; from?: Encoding; to: Encoding | 'raw'; relError: number; maxError: number; verbatim: boolean }[];
}

/** --target-size: the budget, what each encoding needed to fit it, and the choice (least calibration loss). */
export interface TargetSizeReport {
  budget: number; // gzip bytes of model.json + shards
  chosen: { sparsity: number; quantize: QuantizeMode };
  candidates: { quantize: QuantizeMode; fits: boolean; sparsity?: number; gzip?: number; loss?: number; accuracy?: number }[];
}

export interface PruneReport {
  version: 1;
  model: string;
  output: string;
  /** The settings that played a part (prune.ts usedSettings): e.g. a magnitude run lists no Fisher settings. */
  settings: Partial<Omit<PruneOptions, 'outDir' | 'modelPath'>> &
    Pick<PruneOptions, 'method' | 'sparsity' | 'scope' | 'layers'> & { labels?: 'given' | 'sampled' };
  backend: string; // the TF.js backend that actually ran (model, gradients)
  gradientPass?: string; // where the per-sample gradient pass ran: 'onnxruntime (2 threads)', or TF.js and why not onnxruntime
  linalg?: string; // the matrix-product provider of the Fisher math ('openblas-f64', 'onnxruntime-f64' or 'js')
  host?: string; // the machine the run used: 'name (linux-x64, 8 cores, 31 GB)' (remote windows: the remote host)
  linalgNote?: string; // a native library that did not load (OpenBLAS, onnxruntime-node): what ran instead, its cost, the fix
  backendNote?: string; // TF.js fell back from tfjs-node: what ran, the speed-up it would give, how to install it
  sparsity: { target: number; achieved: number; pruned: number; weights: number };
  layers: LayerResult[];
  before?: EvalResult;
  after?: EvalResult;
  seconds: Partial<Record<Stage, number>> & { total: number };
  memory: MemoryPlan;
  steps: number; // recompute sub-steps actually run
  damp?: number; // the λ used (the chosen one with damp 'auto')
  dampSearch?: { damp: number; relative: number; loss: number; accuracy: number }[]; // damp 'auto': calibration loss per candidate
  size?: { input: SizeFigures; output: SizeFigures };
  quantization?: QuantizationReport;
  targetSize?: TargetSizeReport;
  structure?: StructureReport; // structure 'neurons'
}

/** Model cost, measured on the backend that ran: latency is the median of repeated model.predict calls. */
export interface ModelCost {
  params: number;
  flops: number;
  latencyMs: { batch1: number; batch32: number };
}

export interface StructureReport {
  units: { removed: number; removable: number; total: number }; // output units of Dense/Conv layers
  classes: number; // removable unit classes (channels tied by residual Adds count once)
  update: 'group' | 'none'; // group OBS update δw = −F⁻¹E_Q(E_QᵀF⁻¹E_Q)⁻¹E_Qᵀw, or only removal
  targetFlops?: number;
  constants: { folded: number; dropped: number }; // removed units' outputs act(b) moved into consumers' biases, or dropped
  before: ModelCost;
  after: ModelCost;
  notes: string[]; // channels left alone and why
}

/** Streamed while a run goes on; the worker forwards these as protocol messages. */
export type PruneEvent =
  | {
      type: 'stage';
      stage: Stage;
      done: number;
      total: number; // of `layer`'s work when given
      layer?: string;
      step?: number;
      steps?: number;
      message?: string;
      overall?: { done: number; total: number }; // a stage run layer by layer (blocks, update): its count over every layer
    }
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
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly detail?: { file?: string; line?: number; column?: number; path?: string },
  ) {
    super(message);
    this.name = 'WoodFisherError';
  }
}
export type ErrorCode =
  | 'MODEL_FORMAT'
  | 'MODEL_SHARD'
  | 'MODEL_PATH'
  | 'MODEL_NAN'
  | 'UNSUPPORTED_LAYER'
  | 'DATA_FORMAT'
  | 'DATA_SHAPE'
  | 'LABELS'
  | 'RECIPE'
  | 'OPTIONS'
  | 'MEMORY'
  | 'OUTPUT'
  | 'NUMERIC'
  | 'BACKEND'
  | 'CANCELLED';

// ---------------------------------------------------------------- gradual pruning (src/engine/gradual/)
export type OptimizerKind = 'sgd' | 'adam';
export type LrSchedule = 'cosine' | 'step' | 'constant';

/**
 * Gradual pruning: prune a little (the one-shot step at the current weights), fine-tune with the masks held, repeat on
 * the cubic schedule; then fine-tune to the end. `dataPath`/`labelsPath` are the training data: calibration samples
 * for each step are drawn from them. `outDir` receives a checkpoint after every epoch and the final model.
 */
export interface GradualOptions extends PruneOptions {
  epochs: number;
  initialSparsity?: number; // s_i; default 0
  pruneStart?: number; // epochs (fractions allowed); default 0
  pruneEnd?: number; // default epochs/2
  pruneEvery?: number; // default (pruneEnd − pruneStart)/3: four pruning steps
  optimizer: OptimizerKind;
  lr: number;
  lrSchedule: LrSchedule;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  resume?: boolean; // continue from the checkpoint in outDir
}

/** What a gradual run adds to PruneOptions (a sweep's gradual points share these). */
export type GradualSettings = Omit<GradualOptions, keyof PruneOptions>;

export const DEFAULT_GRADUAL: Pick<GradualOptions, 'optimizer' | 'lr' | 'lrSchedule' | 'batchSize' | 'momentum' | 'weightDecay'> = {
  optimizer: 'sgd',
  lr: 0.1,
  lrSchedule: 'cosine',
  batchSize: 64,
  momentum: 0.9,
  weightDecay: 0,
};

export interface EpochRecord {
  epoch: number; // 1-based
  lr: number; // at the epoch's last step
  train: { loss: number; accuracy: number };
  eval?: EvalResult;
  sparsity: number; // of the prunable weights, at the epoch's end
  layers: Record<string, number>; // sparsity per layer
  seconds: number;
}

export interface PruningStepRecord {
  k: number; // 0 … K
  epoch: number; // when (fractional epochs)
  target: number; // s_k
  achieved: number;
  layers: LayerResult[];
  eval?: EvalResult; // right after the step, before fine-tuning
  damp?: number; // λ of this step (Fisher methods)
  skipped?: boolean; // the target was met already: nothing pruned, no gradients spent
  seconds: number;
}

export interface GradualSchedule {
  epochs: number;
  batchesPerEpoch: number;
  steps: { k: number; epoch: number; sparsity: number }[];
}

/** report.json of a gradual run: a PruneReport (final layers, before/after) plus the run's history. */
export interface GradualReport extends PruneReport {
  gradual: {
    schedule: GradualSchedule;
    epochs: EpochRecord[];
    steps: PruningStepRecord[];
    finished: boolean;
  };
}

export type GradualEvent =
  | PruneEvent
  | { type: 'schedule'; schedule: GradualSchedule }
  | { type: 'epoch'; record: EpochRecord; epochs: number }
  | { type: 'pruningStep'; record: PruningStepRecord; steps: number }
  | { type: 'checkpoint'; epoch: number; path: string }
  | { type: 'gradualDone'; report: GradualReport; reportPath: string; modelPath: string };

export interface GradualHooks {
  onEvent?: (e: GradualEvent) => void;
  signal?: AbortSignal;
  /** A folder the caller claimed (a sweep's runs): the result goes there, with no checkpoints; default: claimOutput(options.outDir). */
  output?: OutputClaim;
}

/** A claimed output folder (output/claim.ts): checked and locked before any work, written by staging and swapping. */
export interface OutputClaim {
  /** The output folder (absolute). */
  readonly dir: string;
  /** A new, empty folder to write the result into; it becomes `dir` on commit. */
  stage(): string;
  /** Writes the marker and swaps the staged folder in (old result kept until the new one is in place). A claim may
   *  stage and commit again: each commit replaces the previous result (gradual pruning's checkpoint per epoch). */
  commit(): Promise<void>;
  /** Removes the staging folder if not committed, and the lock. Safe to call twice. */
  release(): void;
  /** Warnings gathered on the way (recovered runs, leftovers kept). */
  readonly notes: string[];
}
