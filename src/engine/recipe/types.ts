// What a recipe file holds (after validation) and how problems in it are reported.
import type {
  BackendName,
  InverseForm,
  LayerOverride,
  LrSchedule,
  Method,
  OptimizerKind,
  QuantizeMode,
  RecomputeSchedule,
  Scope,
  Structure,
  UpdateKind,
} from '../types';

/** A data set in a recipe: {inputs, labels?}, or one .npy/.npz path. Paths are relative to the recipe file. */
export type RecipeDataset = string | { inputs: string; labels?: string };

/** A recipe as written (YAML or JSON), validated by schemas/recipe.schema.json. Every key is optional. */
export interface Recipe {
  $schema?: string;
  model?: string;
  data?: RecipeDataset;
  samples?: number;
  method?: Method;
  damp?: number | 'auto';
  pattern?: string;
  sampleLabels?: boolean;
  threads?: number;
  blockSize?: number;
  sparsity?: number;
  scope?: Scope;
  update?: UpdateKind;
  recompute?: number;
  structure?: Structure;
  targetFlops?: number;
  minKeep?: number;
  recomputeSchedule?: RecomputeSchedule;
  inverseForm?: InverseForm;
  layers?: Record<string, LayerOverride>;
  maxLayerSparsity?: number;
  eval?: RecipeDataset;
  backend?: BackendName;
  maxMemory?: number | string;
  quantize?: QuantizeMode;
  targetSize?: number | string;
  shuffle?: boolean;
  seed?: number;
  output?: string;
  gradual?: RecipeGradual;
}

/** The recipe's `gradual:` section: the schedule and the fine-tuning (the one-shot keys apply to every pruning step). */
export interface RecipeGradual {
  train?: RecipeDataset;
  epochs: number;
  initialSparsity?: number;
  pruneStart?: number;
  pruneEnd?: number;
  pruneEvery?: number;
  optimizer?: OptimizerKind;
  lr?: number;
  lrSchedule?: LrSchedule;
  batchSize?: number;
  momentum?: number;
  weightDecay?: number;
}

/** A source range. Lines and columns are 1-based (as in "file:line:col"); end is exclusive. */
export interface SourceRange {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface RecipeDiagnostic extends SourceRange {
  message: string;
  path: string; // JSON pointer of the value concerned ('' = the whole recipe)
  severity: 'error' | 'warning';
}
