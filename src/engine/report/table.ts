// Plain-text tables for terminals: the per-layer result of a run, and runs side by side.
import type { EvalResult, PruneReport } from '../types';
import { formatBytes } from './bytes';

/** Aligned columns; `right` marks numeric columns. A separator line follows the header. */
export function formatTable(headers: string[], rows: string[][], right: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const pct = (x: number, digits = 1) => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '-');
/** Saliencies span many decades: 3 significant digits in exponent form. */
export const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : '-');
export const int = (x: number) => x.toLocaleString('en-US');

/** One row per prunable layer: layer, kind, weights, pruned, sparsity, threshold, saliency min/median/max; then the total. */
export function formatLayerTable(report: PruneReport): string {
  const units = report.structure !== undefined; // structure 'neurons': units kept per layer
  const headers = [
    'layer',
    'kind',
    ...(units ? ['units'] : []),
    'weights',
    'pruned',
    'sparsity',
    'threshold',
    'sal. min',
    'sal. median',
    'sal. max',
  ];
  const rows = report.layers.map(l => [
    l.excluded ? `${l.name} (excluded)` : l.name,
    l.kind,
    ...(units ? [l.units ? `${l.units.kept}/${l.units.of}` : '-'] : []),
    int(l.weights),
    int(l.pruned),
    pct(l.sparsity),
    sci(l.threshold),
    sci(l.saliency.min),
    sci(l.saliency.median),
    sci(l.saliency.max),
  ]);
  const s = report.sparsity;
  rows.push([
    'total',
    '',
    ...(units ? [`${report.structure!.units.total - report.structure!.units.removed}/${report.structure!.units.total}`] : []),
    int(s.weights),
    int(s.pruned),
    pct(s.achieved),
    '',
    '',
    '',
    '',
  ]);
  return formatTable(headers, rows, [false, false, ...(units ? [true] : []), true, true, true, true, true, true, true]);
}

/** One pruning run, summarised for comparisons. */
export interface ComparisonRow {
  method: string;
  target: number;
  achieved: number;
  before?: EvalResult;
  after?: EvalResult;
  seconds?: number;
  gzip?: number; // output model.json + shards, gzip bytes
}

export function comparisonRow(report: PruneReport): ComparisonRow {
  return {
    method: report.settings.method,
    target: report.sparsity.target,
    achieved: report.sparsity.achieved,
    before: report.before,
    after: report.after,
    seconds: report.seconds.total,
    gzip: report.size?.output.gzip,
  };
}

/** Runs side by side: method, target and achieved sparsity, accuracy before → after, change, loss after, time (gzip size). */
export function formatComparison(rows: ComparisonRow[]): string {
  const sized = rows.some(r => r.gzip !== undefined);
  const headers = [
    'method',
    'target',
    'achieved',
    'acc. before',
    'acc. after',
    'change',
    'loss after',
    'seconds',
    ...(sized ? ['gzip'] : []),
  ];
  const body = rows.map(r => [
    r.method,
    pct(r.target),
    pct(r.achieved, 2),
    r.before ? pct(r.before.accuracy, 2) : '-',
    r.after ? pct(r.after.accuracy, 2) : '-',
    r.before && r.after
      ? `${r.after.accuracy >= r.before.accuracy ? '+' : ''}${((r.after.accuracy - r.before.accuracy) * 100).toFixed(2)}`
      : '-',
    r.after ? r.after.loss.toFixed(4) : '-',
    r.seconds === undefined ? '-' : r.seconds.toFixed(1),
    ...(sized ? [r.gzip === undefined ? '-' : formatBytes(r.gzip)] : []),
  ]);
  return formatTable(headers, body, [false, true, true, true, true, true, true, true, true]);
}
