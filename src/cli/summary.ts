// The few lines printed after a run, under the per-layer table.
import * as path from 'node:path';
import { pct } from '../engine/report/table';
import { formatBytes } from '../engine/report/bytes';
import type { PruneReport } from '../engine/types';

export function runSummary(r: PruneReport): string {
  const lines = [
    `${r.settings.method} (${r.settings.scope}, ${r.settings.update} update): pruned ${pct(r.sparsity.achieved, 2)} of ` +
      `${r.sparsity.weights.toLocaleString('en-US')} weights (target ${pct(r.sparsity.target)}) in ${r.seconds.total.toFixed(1)} s on ${r.backend}` +
      (r.linalg ? ` (Fisher products: ${r.linalg})` : ''),
  ];
  if (r.settings.damp === 'auto' && r.damp !== undefined) {
    lines.push(`λ = ${r.damp.toExponential(2)} chosen from ${r.dampSearch?.length ?? 0} candidates by calibration loss`);
  }
  if (r.settings.pattern) lines.push(`pattern ${r.settings.pattern}: at most ${r.settings.pattern.split(':')[0]} non-zeros in every ${r.settings.pattern.split(':')[1]} consecutive weights`);
  if (r.before && r.after) {
    lines.push(`accuracy ${pct(r.before.accuracy, 2)} → ${pct(r.after.accuracy, 2)}, loss ${r.before.loss.toFixed(4)} → ${r.after.loss.toFixed(4)} (${r.after.samples} samples)`);
  }
  if (r.size) lines.push(sizeLine(r));
  lines.push(`wrote ${path.join(r.output, 'model.json')} and report.json`);
  return lines.join('\n');
}

/** "size 129 KB → 34 KB raw (uint8), gzip 120 KB → 16 KB (7.5× smaller), brotli …": model.json + shards, as served. */
export function sizeLine(r: PruneReport): string {
  const { input, output } = r.size!;
  const ratio = (a: number, b: number) => (b < a ? `${(a / b).toFixed(1)}× smaller` : b === a ? 'same' : `${(b / a).toFixed(2)}× larger`);
  const enc = r.quantization ? Object.entries(r.quantization.encodings).filter(([k]) => k !== 'raw').map(([k]) => k).join('+') : '';
  const err = r.quantization && r.quantization.relError > 0 ? `; quantization error ‖ŵ−w‖/‖w‖ = ${r.quantization.relError.toExponential(1)}` : '';
  return `size ${formatBytes(input.raw)} → ${formatBytes(output.raw)} raw${enc ? ` (${enc})` : ''}, gzip ${formatBytes(input.gzip)} → ${formatBytes(output.gzip)} (${ratio(input.gzip, output.gzip)}), ` +
    `brotli ${formatBytes(input.brotli)} → ${formatBytes(output.brotli)}${err}`;
}
