// woodfisher sweep <model.json | recipe> --sparsities … --methods … --eval … --out dir
import * as path from 'node:path';
import { formatBytes } from '../../engine/report/bytes';
import { Command } from 'commander';
import { loadSweepModule } from '../engine';
import { formatComparison } from '../../engine/report/table';
import type { Method } from '../../engine/types';
import { withAbort } from '../abort';
import { UsageError } from '../errors';
import { addRunOptions, parseMethodList, parseSparsityList, RunFlags } from '../flags';
import { createProgress, progressMode } from '../progress';
import { resolveRunOptions } from '../resolve';
import { addGradualOptions, resolveGradual, type GradualFlags } from './gradual';
import { gradualSettings } from '../../engine/recipe';

interface SweepFlags extends RunFlags, Omit<GradualFlags, keyof RunFlags> {
  sparsities?: number[];
  methods?: Method[];
  gradual?: boolean;
}

export function sweepCommand(): Command {
  const cmd = new Command('sweep')
    .description(
      'prune at several sparsities with several methods; writes each run, sweep.json, sweep.svg (accuracy vs sparsity) and sweep-size.svg (accuracy vs download size)',
    )
    .argument('[target]', 'model.json, or a recipe that names the model')
    .requiredOption('--sparsities <list>', 'comma-separated target sparsities, e.g. 0.5,0.8,0.9,0.95', parseSparsityList)
    .option('--methods <list>', 'comma-separated methods (default: woodfisher,global-magnitude)', parseMethodList)
    .addHelpText(
      'after',
      '\nExample:\n  woodfisher sweep model.json --data x.npy --labels y.npy --eval test.npz --sparsities 0.5,0.8,0.9,0.95 --out sweep',
    );
  addRunOptions(cmd, { sparsity: false, method: false });
  cmd.option(
    '--gradual',
    'every point a gradual run (prune on the schedule with fine-tuning, same epochs for every method): needs --train and --epochs',
  );
  addGradualOptions(cmd, { oneShot: false });
  return cmd.action(async (target: string | undefined, flags: SweepFlags) => {
    const sparsities = flags.sparsities!;
    const methods = flags.methods ?? ['woodfisher', 'global-magnitude'];
    const gradual = flags.gradual ? await resolveGradual(target, { ...flags, sparsity: sparsities[0], method: methods[0] }) : undefined;
    if (!flags.gradual && (flags.train !== undefined || flags.epochs !== undefined))
      throw new UsageError('--train and --epochs belong to a gradual sweep: add --gradual');
    const options = gradual ?? (await resolveRunOptions(target, flags, { sparsity: sparsities[0], method: methods[0] }, 'sweep')).options;
    if (!options.evalPath) throw new UsageError('a sweep needs evaluation data: --eval x.npy --eval-labels y.npy (or eval: in the recipe)');
    const { runSweep } = await loadSweepModule();
    const progress = createProgress(progressMode(flags.json));
    let result;
    try {
      result = await withAbort(signal =>
        runSweep(
          options,
          sparsities,
          methods,
          {
            signal,
            onEvent: e => progress.onEvent(e),
            onRun: r =>
              progress.note(`run ${r.index + 1}/${r.total}: ${gradual ? 'gradual ' : ''}${r.method} at ${+(r.sparsity * 100).toFixed(2)}%`),
          },
          gradual && gradualSettings(gradual),
        ),
      );
    } finally {
      progress.stop();
    }
    if (flags.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    const rows = result.points.map(p => ({
      method: p.method,
      target: p.sparsity,
      achieved: p.achieved,
      before: result.dense,
      after: { accuracy: p.accuracy, loss: p.loss, samples: result.dense?.samples ?? 0 },
      seconds: p.seconds,
      gzip: p.size?.gzip,
    }));
    const input = result.inputSize ? `\ninput: ${formatBytes(result.inputSize.gzip)} gzip` : '';
    const note =
      result.dense?.reference === 'dense'
        ? '\nno evaluation labels: "accuracy" is the top-1 agreement with the dense model, "loss" the mean KL divergence from it (nats)'
        : '';
    process.stdout.write(
      `${formatComparison(rows)}${input}${note}\n\nwrote ${path.join(options.outDir, 'sweep.json')}, sweep.svg (accuracy vs sparsity) and sweep-size.svg (accuracy vs gzip size)\n`,
    );
  });
}
