// The pruning methods, one small strategy object each: what a method needs and how it scores a weight.
// Everything that asks "does this method need gradients / inverses, which scope does it force" reads this table.
import { diagFisher } from './fisher/blocks';
import { diagFisherSaliency, magnitudeSaliency } from './obs/saliency';
import type { Method, Scope } from './types';

export interface MethodStrategy {
  readonly name: Method;
  readonly summary: string; // one line, for pickers and --help
  readonly needsGradients: boolean; // per-sample gradients g_n (the empirical Fisher F̂ = (1/N) Σ g gᵀ)
  readonly needsInverse: boolean; // blockwise F⁻¹ (Woodbury): OBS saliency and the OBS update
  readonly taylor: boolean; // WoodTaylor: the first-order term F⁻¹∇L in saliency and update
  readonly scope?: Scope; // selection scope the method implies; else the options' scope
  /** Saliency from the layer alone (methods without inverse blocks); G is N × d, row-major. */
  readonly layerSaliency?: (w: Float64Array, G: Float32Array | undefined, n: number, damp: number) => Float64Array;
  readonly form: string; // LayerResult.form of a layer without inverse blocks
}

export const METHODS: Readonly<Record<Method, MethodStrategy>> = {
  woodfisher: {
    name: 'woodfisher',
    summary: 'OBS saliency with a blockwise empirical-Fisher inverse (the paper)',
    needsGradients: true,
    needsInverse: true,
    taylor: false,
    form: 'none',
  },
  woodtaylor: {
    name: 'woodtaylor',
    summary: 'WoodFisher plus the gradient term',
    needsGradients: true,
    needsInverse: true,
    taylor: true,
    form: 'none',
  },
  diagfisher: {
    name: 'diagfisher',
    summary: 'diagonal Fisher (no off-diagonal terms)',
    needsGradients: true,
    needsInverse: false,
    taylor: false,
    form: 'diagonal',
    layerSaliency: (w, G, n, damp) => diagFisherSaliency(w, diagFisher(G!, n, w.length, damp)), // ρ_q = ½ F_qq w_q²
  },
  magnitude: {
    name: 'magnitude',
    summary: 'smallest |w| per layer, no data needed',
    needsGradients: false,
    needsInverse: false,
    taylor: false,
    scope: 'layer',
    form: 'none',
    layerSaliency: w => magnitudeSaliency(w),
  },
  'global-magnitude': {
    name: 'global-magnitude',
    summary: 'smallest |w| over all layers, no data needed',
    needsGradients: false,
    needsInverse: false,
    taylor: false,
    scope: 'global',
    form: 'none',
    layerSaliency: w => magnitudeSaliency(w),
  },
};

export const needsGradients = (m: Method): boolean => METHODS[m].needsGradients;
export const needsInverse = (m: Method): boolean => METHODS[m].needsInverse;
