// Which weights to prune: the lowest saliencies, over all layers at once (global) or layer by layer.
import { WoodFisherError } from '../types';
import { kthSmallest } from '../order';

export interface SelectionLayer {
  name: string;
  saliency: Float64Array;
  weights: Float64Array;
  sparsity?: number;
  exclude?: boolean;
  maxSparsity?: number; // global selection prunes at most round(maxSparsity·d) of this layer (default 1: no cap)
}

/**
 * Masks (1 = pruned). scope 'global': one threshold over every layer without its own sparsity/exclusion, pruning
 * exactly round(s·d) weights among them; layers with `sparsity` get their own target; excluded layers stay dense.
 * scope 'layer': each layer to its own target (override or s). Weights already exactly zero count as pruned first
 * (they stay pruned, even beyond the target). Ties broken deterministically (layer order, then index). Returns also
 * the threshold per layer (largest saliency pruned, NaN if none). Global selection leaves every layer at most its
 * `maxSparsity` (no silent layer collapse): a layer that would go past it is pruned to exactly its cap by its own
 * lowest saliencies and the rest of the target comes from the other layers (water-filling).
 */
export function selectMasks(
  layers: SelectionLayer[],
  sparsity: number,
  scope: 'global' | 'layer',
): { masks: Uint8Array[]; thresholds: number[] } {
  checkSparsity(sparsity, 'sparsity');
  const masks = layers.map(l => {
    if (l.saliency.length !== l.weights.length)
      throw new WoodFisherError(`layer ${l.name}: ${l.saliency.length} saliencies for ${l.weights.length} weights`, 'OPTIONS');
    if (l.sparsity !== undefined) checkSparsity(l.sparsity, `layer ${l.name} sparsity`);
    return new Uint8Array(l.weights.length);
  });
  const pooled: number[] = [];
  layers.forEach((l, i) => {
    if (l.exclude) return;
    if (scope === 'global' && l.sparsity === undefined) pooled.push(i);
    else pruneLowest(layers, masks, [i], l.sparsity ?? sparsity);
  });
  if (pooled.length) pruneGlobalCapped(layers, masks, pooled, sparsity);
  const thresholds = layers.map((l, i) => {
    let t = NaN;
    for (let q = 0; q < masks[i].length; q++) if (masks[i][q] && !(l.saliency[q] <= t)) t = l.saliency[q];
    return t;
  });
  return { masks, thresholds };
}

/** round(s·d) of the pooled layers, each layer at most round(maxSparsity·d_i): layers that the unconstrained
 *  threshold would take past their cap are fixed at the cap, the others share the rest; repeated until none is over. */
function pruneGlobalCapped(layers: SelectionLayer[], masks: Uint8Array[], ids: number[], s: number): void {
  const total = Math.round(s * ids.reduce((a, i) => a + layers[i].weights.length, 0));
  const cap = (i: number) => Math.round(Math.min(1, layers[i].maxSparsity ?? 1) * layers[i].weights.length);
  const capped = new Set<number>();
  for (;;) {
    let fixed = 0;
    for (const i of ids) {
      masks[i].fill(0);
      if (capped.has(i)) fixed += pruneCount(layers, masks, [i], cap(i));
    }
    const free = ids.filter(i => !capped.has(i));
    if (free.length) pruneCount(layers, masks, free, Math.max(0, total - fixed));
    const over = free.filter(i => count(masks[i]) > Math.max(cap(i), zerosOf(layers[i].weights)));
    if (!over.length) return;
    for (const i of over) capped.add(i);
  }
}

const count = (m: Uint8Array) => {
  let c = 0;
  for (const v of m) c += v;
  return c;
};
const zerosOf = (w: Float64Array) => {
  let c = 0;
  for (const v of w) if (v === 0) c++;
  return c;
};

/** Prunes round(s·d) weights of the given layers together: zeros first, then lowest saliency, ties by (layer, index). */
function pruneLowest(layers: SelectionLayer[], masks: Uint8Array[], ids: number[], s: number): void {
  pruneCount(layers, masks, ids, Math.round(s * ids.reduce((a, i) => a + layers[i].weights.length, 0)));
}

/** Prunes `target` weights of the given layers together (or all their zeros, if more); returns how many it pruned. */
function pruneCount(layers: SelectionLayer[], masks: Uint8Array[], ids: number[], target: number): number {
  let d = 0,
    zeros = 0;
  for (const i of ids) {
    const w = layers[i].weights;
    d += w.length;
    for (let q = 0; q < w.length; q++)
      if (w[q] === 0) {
        masks[i][q] = 1;
        zeros++;
      }
  }
  let need = Math.min(target, d) - zeros;
  if (need <= 0) return zeros;
  const pruned = need + zeros;
  const vals = new Float64Array(d - zeros);
  let c = 0;
  for (const i of ids) {
    const { weights: w, saliency: r, name } = layers[i];
    for (let q = 0; q < w.length; q++) {
      if (w[q] === 0) continue;
      if (Number.isNaN(r[q]))
        throw new WoodFisherError(`layer ${name}: saliency of weight ${q} is NaN; check the damping λ and the gradients`, 'NUMERIC');
      vals[c++] = r[q];
    }
  }
  const t = kthSmallest(vals, need - 1); // need-th smallest saliency
  for (const i of ids) {
    // strictly below t: all pruned
    const { weights: w, saliency: r } = layers[i];
    for (let q = 0; q < w.length; q++)
      if (w[q] !== 0 && r[q] < t) {
        masks[i][q] = 1;
        need--;
      }
  }
  for (const i of ids) {
    // equal to t: in layer order, then index
    const { weights: w, saliency: r } = layers[i];
    for (let q = 0; q < w.length && need > 0; q++)
      if (w[q] !== 0 && r[q] === t) {
        masks[i][q] = 1;
        need--;
      }
  }
  return pruned;
}

function checkSparsity(s: number, what: string): void {
  if (!(s >= 0 && s <= 1)) throw new WoodFisherError(`${what} must be in [0, 1] (got ${s})`, 'OPTIONS');
}

/** An N:M pattern: at most n non-zeros in every group of m consecutive weights (2:4 is what sparse tensor cores run). */
export interface NMPattern {
  n: number;
  m: number;
}

export function parsePattern(text: string): NMPattern {
  const g = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  const n = Number(g?.[1]),
    m = Number(g?.[2]);
  if (!g || !(m >= 2) || !(n >= 1) || n >= m)
    throw new WoodFisherError(`pattern must be N:M with 1 ≤ N < M, e.g. 2:4 (got "${text}")`, 'OPTIONS');
  return { n, m };
}

/** (M − N)/M: the sparsity an N:M pattern means. */
export function patternSparsity(p: NMPattern): number {
  return (p.m - p.n) / p.m;
}

/**
 * N:M masks: in every group of m consecutive weights of a row (the PyTorch layout's inner dimensions, in·kh·kw, the
 * axis sparse kernels group along), the m − n of lowest saliency are pruned; weights already zero count first.
 * A layer whose row length is not a multiple of m cannot hold the pattern and is left dense (listed in `skipped`).
 */
export function selectNM(
  layers: (SelectionLayer & { rowLength: number })[],
  p: NMPattern,
): { masks: Uint8Array[]; thresholds: number[]; skipped: string[] } {
  const skipped: string[] = [];
  const masks = layers.map(l => {
    const mask = new Uint8Array(l.weights.length);
    if (l.exclude) return mask;
    if (l.rowLength % p.m !== 0) {
      skipped.push(l.name);
      return mask;
    }
    const order = new Int32Array(p.m);
    for (let g = 0; g < l.weights.length; g += p.m) {
      for (let j = 0; j < p.m; j++) order[j] = g + j;
      const key = (q: number) => (l.weights[q] === 0 ? -Infinity : l.saliency[q]); // zeros first, then lowest ρ
      order.sort((a, b) => key(a) - key(b) || a - b);
      for (let j = 0; j < p.m - p.n; j++) mask[order[j]] = 1;
      for (let j = p.m - p.n; j < p.m; j++) if (l.weights[order[j]] === 0) mask[order[j]] = 1; // extra zeros stay pruned
    }
    return mask;
  });
  const thresholds = layers.map((l, i) => {
    let t = NaN;
    for (let q = 0; q < masks[i].length; q++) if (masks[i][q] && l.weights[q] !== 0 && !(l.saliency[q] <= t)) t = l.saliency[q];
    return t;
  });
  return { masks, thresholds, skipped };
}
