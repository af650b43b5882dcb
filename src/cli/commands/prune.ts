// woodfisher prune <model.json | recipe> …
import { Command } from 'commander';
import { loadPruneModule } from '../engine';
import { formatLayerTable } from '../../engine/report/table';
import { withAbort } from '../abort';
import { addRunOptions, RunFlags } from '../flags';
import { createProgress, progressMode } from '../progress';
import { resolveRunOptions } from '../resolve';
import { runSummary } from '../summary';

export function pruneCommand(): Command {
  const cmd = new Command('prune')
    .description('prune a TF.js layers-model once (one-shot), writing the pruned model and report.json to a new folder')
    .argument('[target]', 'model.json, or a recipe (.yaml/.yml/*.prune.json) that names the model')
    .addHelpText(
      'after',
      '\nExamples:\n  woodfisher prune model.json --data x.npy --labels y.npy --sparsity 0.9 --out pruned\n  woodfisher prune woodfisher.yaml --sparsity 0.95 --out pruned-95',
    );
  addRunOptions(cmd);
  return cmd.action(async (target: string | undefined, flags: RunFlags) => {
    const { options } = await resolveRunOptions(target, flags);
    const { runPrune } = await loadPruneModule();
    const progress = createProgress(progressMode(flags.json));
    let report;
    try {
      report = await withAbort(signal => runPrune(options, { signal, onEvent: e => progress.onEvent(e) }));
    } finally {
      progress.stop();
    }
    if (flags.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } else {
      process.stdout.write(`${formatLayerTable(report)}\n\n${runSummary(report)}\n`);
    }
  });
}
