// Per-layer overrides (recipe `layers:`, --layer-cap, the panel's layer sparsity) must name layers of the model.
import { WoodFisherError, type LayerOverride } from '../types';
import type { LoadedModel } from './load';

/** A sparsity, cap or exclusion needs a prunable layer; an encoding alone may be set for any layer (BatchNorm, bias-only …). */
export function checkLayerOverrides(overrides: Record<string, LayerOverride>, m: LoadedModel): void {
  const prunable = new Set(m.prunable.map(l => l.name));
  const all = new Set(m.model.layers.map(l => l.name));
  for (const [name, ov] of Object.entries(overrides)) {
    const encodingOnly = ov.sparsity === undefined && ov.maxSparsity === undefined && !ov.exclude;
    if (prunable.has(name) || (encodingOnly && all.has(name))) continue;
    throw new WoodFisherError(
      `layer "${name}" named in the layer overrides is not a prunable layer of the model (prunable: ${[...prunable].join(', ')})`,
      'OPTIONS',
    );
  }
}
