// One pruning step of a gradual run: the one-shot machinery at the current weights, to the schedule's s_k.
import { readKernel, writeKernel, type LoadedModel } from '../model/load';
import { magnitudeSaliency } from '../obs/saliency';
import { selectMasks } from '../obs/select';
import { layerResult } from '../layerStats';
import { WoodFisherError, type LayerResult, type PrunableLayer, type PruneOptions, type RunHooks } from '../types';
import type { Dataset } from '../data/calibration';

/** Prunes the model in place to `o.sparsity` (scope, overrides and method of o) using calibration samples `calib`. */
export async function pruneToTarget(m: LoadedModel, layers: PrunableLayer[], calib: Dataset, o: PruneOptions, _hooks: RunHooks): Promise<LayerResult[]> {
  void calib;
  if (o.method !== 'magnitude' && o.method !== 'global-magnitude') throw new WoodFisherError(`${o.method} steps are not wired yet`, 'OPTIONS');
  const active = layers.filter(l => !o.layers[l.name]?.exclude);
  const w = active.map(l => readKernel(m, l));
  const { masks, thresholds } = selectMasks(active.map((l, i) => ({
    name: l.name, saliency: magnitudeSaliency(w[i]), weights: w[i], sparsity: o.layers[l.name]?.sparsity,
  })), o.sparsity, o.method === 'magnitude' ? 'layer' : 'global');
  return active.map((l, i) => {
    const next = Float64Array.from(w[i], (v, q) => (masks[i][q] ? 0 : v));
    writeKernel(m, l, next);
    return layerResult(l, next, magnitudeSaliency(w[i]), thresholds[i], { blocks: 0, form: 'none' });
  });
}
