// Per-layer summary for reports, the panel and CodeLenses.
import { LayerResult, PrunableLayer } from './types';

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
  const finite = Float64Array.from(saliency.filter(Number.isFinite)).sort();
  const stat = (q: number) => (finite.length ? finite[Math.min(finite.length - 1, Math.floor(q * (finite.length - 1) + 0.5))] : NaN);
  return {
    name: layer.name,
    kind: layer.kind,
    weights: layer.size,
    pruned,
    sparsity: layer.size ? pruned / layer.size : 0,
    threshold,
    saliency: { min: stat(0), median: stat(0.5), max: stat(1) },
    histogram: logHistogram(finite),
    ...extra,
  };
}

const HISTOGRAM_DECADES = 16; // below max·1e-16 everything is "pruned for free": one underflow bin keeps the plot readable

/** Histogram of log10(saliency) over the positive saliencies (zeros have no log; they are counted as pruned anyway).
 *  The first bin also counts everything below the range (weights that underflow to ~1e-40 give saliencies ~1e-90). */
export function logHistogram(sorted: Float64Array, bins = HISTOGRAM_BINS): { edges: number[]; counts: number[] } | undefined {
  const logs = Array.from(
    sorted.filter(v => v > 0),
    Math.log10,
  );
  if (logs.length === 0) return undefined;
  const hi = logs[logs.length - 1],
    lo = Math.max(logs[0], hi - HISTOGRAM_DECADES);
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of logs) counts[Math.max(0, Math.min(bins - 1, Math.floor((v - lo) / width)))]++;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  return { edges, counts };
}
