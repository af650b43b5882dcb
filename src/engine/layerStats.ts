// Per-layer summary for reports, the panel and CodeLenses.
import { LayerResult, PrunableLayer } from './types';
import { kthSmallest } from './order';

const HISTOGRAM_BINS = 30;

/** Summarises a layer after pruning: counts, its threshold, saliency spread and a log10 histogram. */
export function layerResult(
  layer: PrunableLayer,
  weightsAfter: Float64Array,
  saliency: Float64Array,
  threshold: number,
  extra: Pick<LayerResult, 'blocks' | 'form' | 'excluded'>,
): LayerResult {
  let pruned = 0;
  for (let i = 0; i < weightsAfter.length; i++) if (weightsAfter[i] === 0) pruned++;
  const finite = finiteOf(saliency);
  return {
    name: layer.name,
    kind: layer.kind,
    weights: layer.size,
    pruned,
    sparsity: layer.size ? pruned / layer.size : 0,
    threshold,
    saliency: spread(finite),
    histogram: logHistogram(finite), // any order: spread's reordering does not change it
    ...extra,
  };
}

/** The finite values (a copy). */
export function finiteOf(values: Float64Array): Float64Array {
  let n = 0;
  for (const v of values) if (Number.isFinite(v)) n++;
  const out = new Float64Array(n);
  n = 0;
  for (const v of values) if (Number.isFinite(v)) out[n++] = v;
  return out;
}

/** Min, median (the value at rank round((n−1)/2)) and max of finite values, NaN when there are none; reorders them. */
export function spread(finite: Float64Array): { min: number; median: number; max: number } {
  if (!finite.length) return { min: NaN, median: NaN, max: NaN };
  let min = Infinity,
    max = -Infinity;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, median: kthSmallest(finite, Math.floor(0.5 * (finite.length - 1) + 0.5)), max };
}

const HISTOGRAM_DECADES = 16; // below max·1e-16 everything is "pruned for free": one underflow bin keeps the plot readable

/** Histogram of log10(saliency) over the positive finite saliencies, in any order (zeros have no log; they are counted
 *  as pruned anyway). The first bin also counts everything below the range (weights that underflow to ~1e-40 give
 *  saliencies ~1e-90). */
export function logHistogram(values: Float64Array, bins = HISTOGRAM_BINS): { edges: number[]; counts: number[] } | undefined {
  const logs = new Float64Array(values.length);
  let n = 0,
    lo = Infinity,
    hi = -Infinity;
  for (const v of values) {
    if (!(v > 0) || v === Infinity) continue;
    const x = Math.log10(v);
    logs[n++] = x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (n === 0) return undefined;
  lo = Math.max(lo, hi - HISTOGRAM_DECADES);
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) counts[Math.max(0, Math.min(bins - 1, Math.floor((logs[i] - lo) / width)))]++;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  return { edges, counts };
}
