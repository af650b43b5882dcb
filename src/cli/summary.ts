// The few lines printed after a run, under the per-layer table.
import { evalTerms } from '../engine/report/evalTerms';
import * as path from 'node:path';
import { int, pct } from '../engine/report/table';
import { formatBytes } from '../engine/report/bytes';
import type { PruneReport } from '../engine/types';

export function runSummary(r: PruneReport): string {
  const s = r.structure;
  const lines = s
    ? [
        `${r.settings.method} (${r.settings.scope}, structure neurons${s.targetFlops !== undefined ? `, FLOPs target ${pct(s.targetFlops)}` : `, target ${pct(r.sparsity.target)} of units`}): ` +
          `removed ${s.units.removed} of ${s.units.total} units (${s.units.removable} removable, ${s.update === 'group' ? 'group OBS update' : 'no update'}) in ${r.seconds.total.toFixed(1)} s on ${r.backend}`,
      ]
    : [
        `${r.settings.method} (${r.settings.scope}${r.settings.update ? `, ${r.settings.update} update` : ''}): pruned ${pct(r.sparsity.achieved, 2)} of ` +
          `${r.sparsity.weights.toLocaleString('en-US')} weights (target ${pct(r.sparsity.target)}) in ${r.seconds.total.toFixed(1)} s on ${r.backend}` +
          (r.linalg || r.gradientPass?.startsWith('onnxruntime')
            ? ` (${[r.gradientPass?.startsWith('onnxruntime') ? `gradient pass: ${r.gradientPass}` : '', r.linalg ? `Fisher products: ${r.linalg}` : ''].filter(Boolean).join('; ')})`
            : ''),
      ];
  if (r.settings.damp === 'auto' && r.damp !== undefined) {
    lines.push(`λ = ${r.damp.toExponential(2)} chosen from ${r.dampSearch?.length ?? 0} candidates by calibration loss`);
  }
  if (r.memory?.gradients === 'streamed' || r.memory?.strategy === 'rebuild') lines.push(`memory plan: ${r.memory.why}`);
  if (r.settings.pattern)
    lines.push(
      `pattern ${r.settings.pattern}: at most ${r.settings.pattern.split(':')[0]} non-zeros in every ${r.settings.pattern.split(':')[1]} consecutive weights`,
    );
  if (s) {
    const ms = (x: number) => `${x.toFixed(2)} ms`;
    lines.push(
      `params ${int(s.before.params)} → ${int(s.after.params)}, FLOPs ${int(s.before.flops)} → ${int(s.after.flops)} (${pct(s.after.flops / s.before.flops)})`,
    );
    lines.push(
      `latency on ${r.backend} (median): batch 1 ${ms(s.before.latencyMs.batch1)} → ${ms(s.after.latencyMs.batch1)}, batch 32 ${ms(s.before.latencyMs.batch32)} → ${ms(s.after.latencyMs.batch32)}`,
    );
  }
  if (r.before && r.after) {
    const t = evalTerms(r.after);
    lines.push(
      `${t.score} ${pct(r.before.accuracy, 2)} → ${pct(r.after.accuracy, 2)}, ${t.loss} ${r.before.loss.toFixed(4)} → ${r.after.loss.toFixed(4)} (${r.after.samples} samples${t.against ? `; ${t.against}` : ''})`,
    );
  }
  if (r.targetSize) {
    const t = r.targetSize,
      fit = t.candidates.filter(c => c.fits).length;
    lines.push(
      `target ${formatBytes(t.budget)} gzip: ${t.chosen.quantize === 'none' ? 'float32' : t.chosen.quantize} at ${pct(t.chosen.sparsity)} sparsity had the least calibration loss of the ${fit} encoding${fit === 1 ? '' : 's'} that fit (of ${t.candidates.length} tried)`,
    );
  }
  if (r.size) lines.push(sizeLine(r));
  lines.push(`wrote ${path.join(r.output, 'model.json')} and report.json`);
  return lines.join('\n');
}

/** "size 129 KB → 34 KB raw (uint8), gzip 120 KB → 16 KB (7.5× smaller), brotli …": model.json + shards, as served. */
export function sizeLine(r: PruneReport): string {
  const { input, output } = r.size!;
  const ratio = (a: number, b: number) => (b < a ? `${(a / b).toFixed(1)}× smaller` : b === a ? 'same' : `${(b / a).toFixed(2)}× larger`);
  const enc = r.quantization
    ? Object.entries(r.quantization.encodings)
        .filter(([k]) => k !== 'raw')
        .map(([k]) => k)
        .join('+')
    : '';
  const err =
    r.quantization && r.quantization.relError > 0 ? `; quantization error ‖ŵ−w‖/‖w‖ = ${r.quantization.relError.toExponential(1)}` : '';
  return (
    `size ${formatBytes(input.raw)} → ${formatBytes(output.raw)} raw${enc ? ` (${enc})` : ''}, gzip ${formatBytes(input.gzip)} → ${formatBytes(output.gzip)} (${ratio(input.gzip, output.gzip)}), ` +
    `brotli ${formatBytes(input.brotli)} → ${formatBytes(output.brotli)}${err}`
  );
}
