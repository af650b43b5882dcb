// Per-layer sensitivity: each prunable layer pruned ALONE (one-shot, the chosen method, every other layer dense) to a
// few sparsities, loss and accuracy measured after each — the table people read to set per-layer overrides.
//   for each layer ℓ:  g ← per-sample gradients of ℓ at the dense weights (once)
//                      for each s:  w_ℓ ← pruneStep(ℓ alone, target s, g);  L(s), acc(s) on the eval (else calibration) set;  w_ℓ restored
// Nothing is written to disk: the result is a measurement, returned and streamed point by point.
import { initBackend } from './backend';
import { useFastestGemm } from './linalg/fastest';
import { loadModel, readKernel, writeKernel, type LoadedModel } from './model/load';
import { loadDataset, type Dataset } from './data/calibration';
import { evaluate } from './gradients/evaluate';
import { perSampleGradients, type GradientSet } from './gradients/perSample';
import { blockThreads } from './fisher/blockPool';
import { blockRanges } from './fisher/blocks';
import { planMemory, assertPlanFits } from './memory';
import { needsGradients } from './methods';
import { checkAbort, pruneStep } from './step';
import { DEFAULT_OPTIONS, EvalResult, Method, PrunableKind, PruneEvent, PruneOptions, RunHooks, WoodFisherError } from './types';

export const SENSITIVITY_SPARSITIES = [0.5, 0.75, 0.9, 0.95];
const AUTO_DAMP_FALLBACK = 1e-5; // damp 'auto' searches on the whole model; a single-layer probe uses the default λ

/** Loss and accuracy after pruning one layer alone to one sparsity. */
export interface SensitivityPoint {
  layer: string;
  sparsity: number;
  achieved: number;
  loss: number;
  accuracy: number;
}

export interface SensitivityResult {
  version: 1;
  model: string;
  method: Method;
  on: 'eval' | 'calibration'; // the set the loss and accuracy are measured on
  dense: EvalResult; // every layer dense
  sparsities: number[];
  layers: { name: string; kind: PrunableKind; size: number }[];
  points: SensitivityPoint[];
  damp: number;
}

export interface SensitivityHooks extends RunHooks {
  onPoint?: (p: SensitivityPoint) => void;
}

export async function runSensitivity(
  given: PruneOptions,
  sparsities: number[] = SENSITIVITY_SPARSITIES,
  only?: string[],
  hooks: SensitivityHooks = {},
): Promise<SensitivityResult> {
  const options: PruneOptions = {
    ...DEFAULT_OPTIONS,
    ...given,
    layers: given.layers ?? {},
    scope: 'layer',
    pattern: undefined,
    recompute: 1,
  };
  const emit = hooks.onEvent ?? (() => {});
  const sorted = [...new Set(sparsities)].sort((a, b) => a - b);
  if (!sorted.length) throw new WoodFisherError('a sensitivity scan needs at least one sparsity', 'OPTIONS');
  for (const s of sorted) if (!(s > 0 && s < 1)) throw new WoodFisherError(`sparsity must be in (0, 1), got ${s}`, 'OPTIONS');

  emit({ type: 'stage', stage: 'load', done: 0, total: 1 });
  const backend = await initBackend(options.backend);
  useFastestGemm();
  const model = await loadModel(options.modelPath);
  try {
    const layers = model.prunable.filter(l => !options.layers[l.name]?.exclude && (!only || only.includes(l.name)));
    const unknown = only?.filter(n => !model.prunable.some(l => l.name === n)) ?? [];
    if (unknown.length) throw new WoodFisherError(`not prunable layers of the model: ${unknown.join(', ')}`, 'OPTIONS');
    if (!layers.length) throw new WoodFisherError('no prunable layer to scan', 'OPTIONS');
    const data = needsGradients(options.method)
      ? await loadDataset(model, options.dataPath, options.labelsPath, {
          samples: options.samples,
          shuffle: options.shuffle,
          seed: options.seed,
          maxBytes: options.maxMemoryBytes,
        })
      : undefined;
    const judge = await judgeSet(model, options, data);
    // The largest layer alone bounds the memory (one layer's gradients and blocks at a time).
    const largest = layers.reduce((a, l) => (l.size > a.size ? l : a));
    const memory = planMemory({
      layers: [largest],
      samples: data?.count ?? 0,
      blockSize: options.blockSize,
      method: options.method,
      inverseForm: options.inverseForm,
      limitBytes: options.maxMemoryBytes,
      threads: blockThreads(options.threads, blockRanges(largest.size, options.blockSize).length),
    });
    emit({ type: 'plan', layers: model.prunable, memory, backend });
    assertPlanFits(memory);
    emit({ type: 'stage', stage: 'load', done: 1, total: 1 });

    const damp = options.damp === 'auto' ? AUTO_DAMP_FALLBACK : options.damp;
    if (options.damp === 'auto')
      emit({ type: 'log', level: 'info', message: `sensitivity: λ = ${AUTO_DAMP_FALLBACK} (damp 'auto' needs the whole model)` });
    const dense = await evaluate(model, judge.set, { signal: hooks.signal });
    const total = layers.length * sorted.length;
    const points: SensitivityPoint[] = [];
    // Only progress reaches the caller: the per-layer results of these probes are not the model's results.
    const progress = (e: PruneEvent) => {
      if (e.type === 'stage' || e.type === 'log') emit(e);
    };
    for (const layer of layers) {
      const original = readKernel(model, layer);
      try {
        const gradients = data && (await layerGradients(model, layer, original, data, options.seed + 1, hooks.signal, progress));
        for (const s of sorted) {
          checkAbort(hooks.signal);
          emit({
            type: 'stage',
            stage: 'evaluate',
            done: points.length,
            total,
            layer: layer.name,
            message: `${layer.name} alone at ${(s * 100).toFixed(1)}%`,
          });
          writeKernel(model, layer, original);
          const { results } = await pruneStep({
            model,
            layers: [layer],
            data,
            options,
            target: { sparsity: s, layers: {} },
            damp,
            inverses: memory.strategy,
            gradients,
            hooks: { onEvent: progress, signal: hooks.signal },
          });
          const after = await evaluate(model, judge.set, { signal: hooks.signal });
          const point: SensitivityPoint = {
            layer: layer.name,
            sparsity: s,
            achieved: results[0].sparsity,
            loss: after.loss,
            accuracy: after.accuracy,
          };
          points.push(point);
          hooks.onPoint?.(point);
        }
      } finally {
        writeKernel(model, layer, original);
      }
    }
    emit({ type: 'stage', stage: 'evaluate', done: total, total });
    return {
      version: 1,
      model: options.modelPath,
      method: options.method,
      on: judge.on,
      dense,
      sparsities: sorted,
      damp,
      layers: layers.map(l => ({ name: l.name, kind: l.kind, size: l.size })),
      points,
    };
  } finally {
    model.model.dispose();
  }
}

/** The evaluation set when given, else the calibration set; either needs labels (the loss compares with them). */
async function judgeSet(model: LoadedModel, o: PruneOptions, data?: Dataset): Promise<{ set: Dataset; on: 'eval' | 'calibration' }> {
  if (o.evalPath) {
    const set = await loadDataset(model, o.evalPath, o.evalLabelsPath, { maxBytes: o.maxMemoryBytes });
    if (!set.labels) throw new WoodFisherError(`evaluation data ${o.evalPath} has no labels; pass --eval-labels`, 'LABELS');
    return { set, on: 'eval' };
  }
  const set =
    data ??
    (await loadDataset(model, o.dataPath, o.labelsPath, {
      samples: o.samples,
      shuffle: o.shuffle,
      seed: o.seed,
      maxBytes: o.maxMemoryBytes,
    }));
  if (!set.labels)
    throw new WoodFisherError('a sensitivity scan measures loss: give labelled evaluation data (eval:) or calibration labels', 'LABELS');
  return { set, on: 'calibration' };
}

/** g_n of one layer at its dense weights, zeros of the kernel masked as pruneStep masks them (so every sparsity shares them). */
function layerGradients(
  model: LoadedModel,
  layer: LoadedModel['prunable'][number],
  w: Float64Array,
  data: Dataset,
  seed: number,
  signal: AbortSignal | undefined,
  emit: (e: PruneEvent) => void,
): Promise<GradientSet> {
  const masks = new Map([[layer.name, Uint8Array.from(w, v => (v === 0 ? 1 : 0))]]);
  return perSampleGradients(model, [layer], data, {
    seed,
    masks,
    signal,
    onProgress: (done, total) => emit({ type: 'stage', stage: 'gradients', done, total, layer: layer.name }),
  });
}
