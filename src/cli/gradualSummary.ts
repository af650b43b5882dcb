// What `woodfisher gradual` prints: a line per epoch and per pruning step while it runs (with rate and ETA, also
// when stderr is not a terminal), then the schedule's history, the final per-layer table and the time per stage.
import * as path from 'node:path';
import { formatLayerTable, formatTable, pct } from '../engine/report/table';
import type { GradualEvent, GradualReport } from '../engine/types';
import { sizeLine } from './summary';

const secs = (s: number) => (s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(s < 10 ? 1 : 0)} s`);

/** Event → progress line (undefined writer: quiet). ETA from optimizer steps done over the elapsed time. */
export function gradualProgress(write: ((line: string) => void) | undefined): (e: GradualEvent) => void {
  if (!write) return () => {};
  const t0 = performance.now();
  let total = 0,
    perEpoch = 0,
    stepsTotal = 0;
  return e => {
    const elapsed = (performance.now() - t0) / 1000;
    if (e.type === 'schedule') {
      total = e.schedule.epochs;
      perEpoch = e.schedule.batchesPerEpoch;
      stepsTotal = e.schedule.steps.length;
      write(
        `schedule: ${e.schedule.steps.map(s => `${pct(s.sparsity)} at epoch ${+s.epoch.toFixed(3)}`).join(', ')}; ${total} epochs of ${perEpoch} batches`,
      );
    } else if (e.type === 'pruningStep') {
      const r = e.record;
      write(
        `pruning step ${r.k + 1}/${stepsTotal} (epoch ${+r.epoch.toFixed(3)}): ` +
          (r.skipped
            ? `target ${pct(r.target, 2)} already met (${pct(r.achieved, 2)} pruned), nothing to do`
            : `${pct(r.achieved, 2)} pruned (target ${pct(r.target, 2)})${r.eval ? `, accuracy ${pct(r.eval.accuracy, 2)} before fine-tuning` : ''}, ${secs(r.seconds)}`),
      );
    } else if (e.type === 'epoch') {
      const r = e.record;
      const left = e.epochs - r.epoch;
      const rate = (r.epoch / Math.max(elapsed, 1e-9)) * 60;
      write(
        `epoch ${r.epoch}/${e.epochs}: train loss ${r.train.loss.toFixed(4)} acc ${pct(r.train.accuracy, 2)}` +
          (r.eval ? ` · eval loss ${r.eval.loss.toFixed(4)} acc ${pct(r.eval.accuracy, 2)}` : '') +
          ` · sparsity ${pct(r.sparsity, 2)} · lr ${r.lr.toPrecision(3)} · ${secs(r.seconds)} (${rate.toFixed(1)} epochs/min, ETA ${left ? secs((elapsed / r.epoch) * left) : 'now'})`,
      );
    } else if (e.type === 'checkpoint') {
      write(`checkpoint after epoch ${e.epoch} in ${e.path}`);
    }
  };
}

export function gradualSummary(r: GradualReport): string {
  const g = r.gradual;
  const epochs = formatTable(
    ['epoch', 'lr', 'train loss', 'train acc.', 'eval loss', 'eval acc.', 'sparsity', 'seconds'],
    g.epochs.map(e => [
      String(e.epoch),
      e.lr.toPrecision(3),
      e.train.loss.toFixed(4),
      pct(e.train.accuracy, 2),
      e.eval ? e.eval.loss.toFixed(4) : '-',
      e.eval ? pct(e.eval.accuracy, 2) : '-',
      pct(e.sparsity, 2),
      e.seconds.toFixed(1),
    ]),
    [true, true, true, true, true, true, true, true],
  );
  const steps = g.steps.map(
    s =>
      `pruning step ${s.k + 1}/${g.steps.length} at epoch ${+s.epoch.toFixed(3)}: target ${pct(s.target, 2)}, pruned ${pct(s.achieved, 2)}` +
      `${s.eval ? `, accuracy right after ${pct(s.eval.accuracy, 2)}` : ''} (${s.seconds.toFixed(1)} s)\n` +
      formatLayerTable({
        ...r,
        layers: s.layers,
        sparsity: { ...r.sparsity, achieved: s.achieved, pruned: s.layers.reduce((a, l) => a + l.pruned, 0) },
      }),
  );
  const t = r.seconds as Record<string, number>;
  const stages = ['load', 'train', 'prune', 'evaluate', 'save']
    .filter(k => t[k] !== undefined)
    .map(k => `${k} ${secs(t[k])}`)
    .join(', ');
  const lines = [
    ...steps,
    '',
    epochs,
    '',
    'final model',
    formatLayerTable(r),
    '',
    `${r.settings.method} gradual (${r.settings.scope}): pruned ${pct(r.sparsity.achieved, 2)} of ${r.sparsity.weights.toLocaleString('en-US')} weights ` +
      `(target ${pct(r.sparsity.target)}) in ${count(g.epochs.length, 'epoch')}, ${count(g.steps.length, 'pruning step')}, ${secs(r.seconds.total)} on ${r.backend} (${stages})`,
  ];
  if (r.before && r.after)
    lines.push(
      `accuracy ${pct(r.before.accuracy, 2)} → ${pct(r.after.accuracy, 2)}, loss ${r.before.loss.toFixed(4)} → ${r.after.loss.toFixed(4)} (${r.after.samples} samples, the written model)`,
    );
  if (r.size) lines.push(sizeLine(r));
  lines.push(`wrote ${path.join(r.output, 'model.json')} and report.json`);
  return lines.join('\n');
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
