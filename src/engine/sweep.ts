// Sparsity sweep: one pruning run per (method, sparsity), accuracy after each, plotted as sweep.svg.
// Writes outDir/<method>-<sparsity%>/{model.json, shards, report.json}, sweep.json, sweep.svg and sweep-size.svg.
// Everything goes to a staging folder swapped in at the end (src/engine/output/claim.ts): a cancelled sweep leaves nothing.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { runPrune } from './prune';
import { runGradual } from './gradual/run';
import { claimOutput, nestedOutput } from './output/claim';
import { sweepSvg, sizeSvg } from './report/svg';
import type { SweepPoint, SweepResult } from './report/sweep-result';
import { GradualSettings, Method, PruneOptions, PruneReport, RunHooks, WoodFisherError } from './types';

export type { SweepPoint, SweepResult } from './report/sweep-result';

export interface SweepHooks extends RunHooks {
  /** Before each run: index (0-based) of total. */
  onRun?: (run: { index: number; total: number; method: Method; sparsity: number }) => void;
  /** After each run. */
  onPoint?: (point: SweepPoint, report: PruneReport) => void;
}

/** "woodfisher-90", "global-magnitude-97.5". */
export function runFolderName(method: Method, sparsity: number): string {
  return `${method}-${+(sparsity * 100).toFixed(4)}`;
}

/** With `gradual`, every point is a gradual run (the same schedule and epochs for every method); base.dataPath is then the training data. */
export async function runSweep(
  base: PruneOptions,
  sparsities: number[],
  methods: Method[],
  hooks: SweepHooks = {},
  gradual?: GradualSettings,
): Promise<SweepResult> {
  if (!base.evalPath) {
    throw new WoodFisherError(
      'a sweep compares accuracy after pruning: give evaluation data (--eval x.npy --eval-labels y.npy, or data.npz)',
      'OPTIONS',
    );
  }
  if (sparsities.length === 0 || methods.length === 0)
    throw new WoodFisherError('a sweep needs at least one sparsity and one method', 'OPTIONS');
  for (const s of sparsities) {
    if (!(s >= 0 && s < 1)) throw new WoodFisherError(`sparsity must be in [0, 1), got ${s}`, 'OPTIONS');
  }
  const out = claimOutput(base.outDir, { kind: 'sweep', inputFolder: path.dirname(base.modelPath) });
  const outDir = out.dir;
  const sorted = [...new Set(sparsities)].sort((a, b) => a - b);
  const total = sorted.length * methods.length;
  const points: SweepPoint[] = [];
  let dense: SweepResult['dense'];
  let inputSize: SweepResult['inputSize'];
  try {
    for (const message of out.notes) hooks.onEvent?.({ type: 'log', level: 'warn', message });
    const staged = out.stage();
    let index = 0;
    for (const method of methods) {
      for (const sparsity of sorted) {
        if (hooks.signal?.aborted) throw new WoodFisherError('the sweep was cancelled', 'CANCELLED');
        hooks.onRun?.({ index: index++, total, method, sparsity });
        const name = (gradual ? 'gradual-' : '') + runFolderName(method, sparsity);
        const run = { ...base, method, sparsity, outDir: path.join(outDir, name) };
        const output = nestedOutput(path.join(staged, name), path.join(outDir, name));
        const report = gradual
          ? await runGradual(
              { ...run, ...gradual },
              {
                signal: hooks.signal,
                output,
                onEvent: e => {
                  if (isPruneEvent(e)) hooks.onEvent?.(e);
                },
              },
            )
          : await runPrune(run, { ...hooks, output });
        if (!report.after) throw new WoodFisherError(`run ${name} returned no evaluation`, 'OPTIONS');
        dense ??= report.before;
        inputSize ??= report.size?.input;
        const point: SweepPoint = {
          method,
          sparsity,
          achieved: report.sparsity.achieved,
          accuracy: report.after.accuracy,
          loss: report.after.loss,
          output: path.join(outDir, name),
          seconds: report.seconds.total,
          size: report.size?.output,
        };
        points.push(point);
        hooks.onPoint?.(point, report);
      }
    }
    const result: SweepResult = {
      version: 1,
      model: path.resolve(base.modelPath),
      dense,
      inputSize,
      methods,
      sparsities: sorted,
      points,
      ...(gradual ? { gradual: { epochs: gradual.epochs } } : {}),
    };
    await fs.writeFile(path.join(staged, 'sweep.json'), JSON.stringify(result, null, 2) + '\n');
    await fs.writeFile(path.join(staged, 'sweep.svg'), sweepSvg(result));
    await fs.writeFile(path.join(staged, 'sweep-size.svg'), sizeSvg(result));
    await out.commit();
    return result;
  } finally {
    out.release();
  }
}

const PRUNE_EVENTS = new Set(['stage', 'plan', 'layer', 'eval', 'log', 'damp', 'done']);
function isPruneEvent(e: { type: string }): e is Parameters<NonNullable<RunHooks['onEvent']>>[0] {
  return PRUNE_EVENTS.has(e.type);
}
