// Recipe + command-line flags → the PruneOptions a run needs (absolute paths, defaults filled in).
import * as path from 'node:path';
import { parseBytes } from '../report/bytes';
import { needsGradients } from '../methods';
import { parsePattern, patternSparsity } from '../obs/select';
import { DEFAULT_GRADUAL, DEFAULT_OPTIONS, GradualOptions, GradualSettings, PruneOptions, WoodFisherError } from '../types';
import type { Recipe, RecipeDataset } from './types';

function dataset(d: RecipeDataset | undefined, dir: string): { inputs?: string; labels?: string } {
  if (d === undefined) return {};
  if (typeof d === 'string') return { inputs: path.resolve(dir, d) };
  return { inputs: path.resolve(dir, d.inputs), labels: d.labels === undefined ? undefined : path.resolve(dir, d.labels) };
}

/** Drops undefined values so that they do not override anything when spread. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The options a recipe sets itself (paths resolved against recipeDir), nothing filled in or checked. */
export function recipeFields(recipe: Recipe, recipeDir: string): Partial<PruneOptions> {
  const data = dataset(recipe.data, recipeDir);
  const ev = dataset(recipe.eval, recipeDir);
  return defined({
    modelPath: recipe.model === undefined ? undefined : path.resolve(recipeDir, recipe.model),
    dataPath: data.inputs,
    labelsPath: data.labels,
    evalPath: ev.inputs,
    evalLabelsPath: ev.labels,
    outDir: recipe.output === undefined ? undefined : path.resolve(recipeDir, recipe.output),
    sparsity: recipe.sparsity,
    pattern: recipe.pattern,
    sampleLabels: recipe.sampleLabels,
    threads: recipe.threads,
    method: recipe.method,
    samples: recipe.samples,
    blockSize: recipe.blockSize,
    damp: recipe.damp,
    scope: recipe.scope,
    update: recipe.update,
    recompute: recipe.recompute,
    recomputeSchedule: recipe.recomputeSchedule,
    inverseForm: recipe.inverseForm,
    layers: recipe.layers,
    maxLayerSparsity: recipe.maxLayerSparsity,
    backend: recipe.backend,
    maxMemoryBytes: recipe.maxMemory === undefined ? undefined : parseBytes(recipe.maxMemory),
    quantize: recipe.quantize,
    targetSize: recipe.targetSize === undefined ? undefined : parseBytes(recipe.targetSize, 'target size'),
    shuffle: recipe.shuffle,
    seed: recipe.seed,
    structure: recipe.structure,
    targetFlops: recipe.targetFlops,
    minKeep: recipe.minKeep,
  });
}

/**
 * Precedence: DEFAULT_OPTIONS < recipe < overrides (the command-line flags, paths already absolute).
 * Recipe paths are resolved relative to recipeDir. Throws WoodFisherError('OPTIONS') when the model,
 * the data (for gradient-based methods), the sparsity or the output folder is given nowhere.
 */
export function recipeToOptions(recipe: Recipe, recipeDir: string, overrides: Partial<PruneOptions> = {}): PruneOptions {
  const fromRecipe = recipeFields(recipe, recipeDir);
  const o = { ...DEFAULT_OPTIONS, ...fromRecipe, ...defined(overrides) } as Partial<PruneOptions> & typeof DEFAULT_OPTIONS;
  if (overrides.layers && fromRecipe.layers) {
    // flags add to the recipe's per-layer overrides, layer by layer
    o.layers = { ...fromRecipe.layers };
    for (const [name, ov] of Object.entries(overrides.layers)) o.layers[name] = { ...o.layers[name], ...ov };
  }
  // A data path given on the command line replaces the recipe's data, labels included (unless given too).
  if (overrides.dataPath !== undefined && overrides.labelsPath === undefined) o.labelsPath = undefined;
  if (overrides.evalPath !== undefined && overrides.evalLabelsPath === undefined) o.evalLabelsPath = undefined;
  const missing = (what: string) => new WoodFisherError(what, 'OPTIONS');
  if (!o.modelPath) throw missing('no model: give a model.json (or `model:` in the recipe)');
  if (!o.dataPath) {
    if (needsGradients(o.method))
      throw missing(`no calibration data: ${o.method} needs --data x.npy|data.npz (or \`data:\` in the recipe)`);
    o.dataPath = '';
  }
  if (o.sparsity === undefined && o.pattern) o.sparsity = patternSparsity(parsePattern(o.pattern));
  // A target size chooses the sparsity: a flag of either kind beats the recipe's other one; both at one level is an error.
  if (overrides.sparsity !== undefined && overrides.targetSize === undefined) o.targetSize = undefined;
  if (o.targetSize !== undefined) {
    const both = overrides.targetSize !== undefined ? overrides.sparsity !== undefined : fromRecipe.sparsity !== undefined;
    if (both) throw missing('a target size chooses the sparsity: give a target size or a sparsity, not both');
    if (o.pattern) throw missing('a target size chooses the sparsity: drop the N:M pattern, or the target size');
    o.sparsity = 0; // the search's starting point (prune.ts)
  }
  if (o.sparsity === undefined && o.structure === 'neurons' && o.targetFlops !== undefined) o.sparsity = 0; // the FLOPs target decides
  // structure 'neurons' ranks units layer by layer unless a scope is given (global over-prunes narrow layers: docs/structured.md)
  if (o.structure === 'neurons' && recipe.scope === undefined && overrides.scope === undefined) o.scope = 'layer';
  if (o.sparsity === undefined)
    throw missing('no target sparsity: give --sparsity or --pattern N:M (or `sparsity:` / `pattern:` in the recipe)');
  if (!o.outDir) throw missing('no output folder: give --out <dir> (or `output:` in the recipe)');
  return { ...o, layers: { ...(o.layers ?? {}) } } as PruneOptions;
}

/**
 * A recipe with a `gradual:` section (or flags alone) → GradualOptions. The training data is gradual.train, else
 * data; calibration samples of each step come from it. Precedence as in recipeToOptions; epochs are required.
 */
export function recipeToGradualOptions(recipe: Recipe, recipeDir: string, overrides: Partial<GradualOptions> = {}): GradualOptions {
  const g = recipe.gradual;
  const train = g?.train !== undefined ? dataset(g.train, recipeDir) : dataset(recipe.data, recipeDir);
  const dataPath = overrides.dataPath ?? train.inputs;
  if (!dataPath)
    throw new WoodFisherError('no training data: give --train x.npy|data.npz (or `gradual: {train: …}` in the recipe)', 'OPTIONS');
  const base = recipeToOptions({ ...recipe, data: undefined }, recipeDir, {
    ...overrides,
    dataPath,
    labelsPath: overrides.dataPath !== undefined ? overrides.labelsPath : (overrides.labelsPath ?? train.labels),
  });
  const fromRecipe: Partial<GradualOptions> = defined({
    epochs: g?.epochs,
    initialSparsity: g?.initialSparsity,
    pruneStart: g?.pruneStart,
    pruneEnd: g?.pruneEnd,
    pruneEvery: g?.pruneEvery,
    optimizer: g?.optimizer,
    lr: g?.lr,
    lrSchedule: g?.lrSchedule,
    batchSize: g?.batchSize,
    momentum: g?.momentum,
    weightDecay: g?.weightDecay,
  });
  const o = {
    ...DEFAULT_GRADUAL,
    ...base,
    ...fromRecipe,
    ...defined(overrides),
    dataPath: base.dataPath,
    labelsPath: base.labelsPath,
  } as GradualOptions;
  if (o.epochs === undefined) throw new WoodFisherError('no epochs: give --epochs E (or `gradual: {epochs: …}` in the recipe)', 'OPTIONS');
  return o;
}

/** The settings a sweep's gradual points share (the GradualOptions keys beyond PruneOptions). */
export function gradualSettings(o: GradualOptions): GradualSettings {
  const { epochs, initialSparsity, pruneStart, pruneEnd, pruneEvery, optimizer, lr, lrSchedule, batchSize, momentum, weightDecay } = o;
  return { epochs, initialSparsity, pruneStart, pruneEnd, pruneEvery, optimizer, lr, lrSchedule, batchSize, momentum, weightDecay };
}
