// woodfisher demo: offline, prunes the bundled MLPNet at 90% and 95% with WoodFisher and global magnitude,
// and shows the per-layer tables and test accuracy before/after for each; then the same 95% reached gradually
// (pruning steps with fine-tuning on the bundled training digits), one-shot against gradual.
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { loadRecipe, recipeToOptions } from '../../engine/recipe';
import { loadGradualModule, loadPruneModule } from '../engine';
import { comparisonRow, formatComparison, formatLayerTable } from '../../engine/report/table';
import { needsGradients } from '../../engine/methods';
import { Method, PruneOptions, PruneReport, WoodFisherError, type GradualOptions, type GradualReport } from '../../engine/types';
import { gradualProgress } from '../gradualSummary';
import { withAbort } from '../abort';
import { parsePositiveInt } from '../flags';
import { createProgress, progressMode } from '../progress';

/** The examples folder: ../examples from dist/cli.js, ../../../examples from src/cli/commands (tsx). */
export function findExamples(from = __dirname): string | undefined {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'examples');
    if (existsSync(path.join(candidate, 'mlpnet', 'model.json'))) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

const RUNS: { method: Method; sparsity: number }[] = [
  { method: 'woodfisher', sparsity: 0.9 },
  { method: 'global-magnitude', sparsity: 0.9 },
  { method: 'woodfisher', sparsity: 0.95 },
  { method: 'global-magnitude', sparsity: 0.95 },
];

interface DemoFlags {
  samples?: number;
  out?: string;
  backend?: PruneOptions['backend'];
  json?: boolean;
  gradual?: boolean;
  gradualEpochs?: number;
}

const GRADUAL_SPARSITY = 0.95;

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'offline demo: prune the bundled MLPNet (MNIST) at 90% and 95%, WoodFisher vs global magnitude, then 95% gradually (one-shot vs gradual)',
    )
    .option('--samples <n>', "N: per-sample gradients (default: the example recipe's)", parsePositiveInt)
    .option('--out <dir>', 'new folder for the pruned models (default: a temporary folder)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: auto)').choices(['auto', 'tensorflow', 'wasm', 'cpu']))
    .option('--json', 'print the reports as JSON')
    .option('--gradual-epochs <E>', 'epochs of the gradual run at 95% (default: 6)', parsePositiveInt)
    .option('--no-gradual', 'one-shot runs only')
    .action(async (f: DemoFlags) => {
      const examples = findExamples();
      if (!examples)
        throw new WoodFisherError('the examples folder (examples/mlpnet/model.json) was not found beside the CLI', 'MODEL_PATH');
      const mlp = path.join(examples, 'mlpnet');
      const recipeFile = path.join(mlp, 'woodfisher.yaml');
      const recipe = existsSync(recipeFile)
        ? await loadRecipe(recipeFile)
        : {
            model: './model.json',
            data: { inputs: '../data/calib-x.npy', labels: '../data/calib-y.npy' },
            eval: { inputs: '../data/test-x.npy', labels: '../data/test-y.npy' },
          };
      const outRoot = f.out ? path.resolve(f.out) : await fs.mkdtemp(path.join(os.tmpdir(), 'woodfisher-demo-'));
      const { runPrune } = await loadPruneModule();
      const progress = createProgress(progressMode(f.json));
      const reports: PruneReport[] = [];
      try {
        await withAbort(async signal => {
          for (const [i, run] of RUNS.entries()) {
            const options = recipeToOptions(recipe, mlp, {
              ...run,
              outDir: path.join(outRoot, `${run.method}-${run.sparsity * 100}`),
              samples: f.samples,
              backend: f.backend,
            });
            progress.note(`run ${i + 1}/${RUNS.length}: ${run.method} at ${run.sparsity * 100}%`);
            reports.push(await runPrune(options, { signal, onEvent: e => progress.onEvent(e) }));
          }
          if (f.gradual === false || !existsSync(path.join(examples, 'data', 'train.npz'))) return;
          const epochs = f.gradualEpochs ?? 6;
          const { runGradual } = await loadGradualModule();
          progress.note(
            `run ${RUNS.length + 1}/${RUNS.length + 1}: woodfisher gradual to ${GRADUAL_SPARSITY * 100}% in ${epochs} epochs on the 8,000 training digits`,
          );
          const lines = gradualProgress(f.json ? undefined : m => progress.note(m));
          reports.push(
            await runGradual(
              {
                ...recipeToOptions(recipe, mlp, {
                  method: 'woodfisher',
                  sparsity: GRADUAL_SPARSITY,
                  outDir: path.join(outRoot, `gradual-woodfisher-${GRADUAL_SPARSITY * 100}`),
                  backend: f.backend,
                }),
                dataPath: path.join(examples, 'data', 'train.npz'),
                labelsPath: undefined,
                samples: f.samples ?? 256,
                damp: 1e-5,
                epochs,
              } as GradualOptions,
              {
                signal,
                onEvent: e => {
                  lines(e);
                  if (e.type === 'stage') progress.onEvent(e);
                },
              },
            ),
          );
        });
      } finally {
        progress.stop();
      }
      if (f.json) {
        process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
        return;
      }
      const out: string[] = [`MLPNet ${path.join(mlp, 'model.json')}`, ''];
      for (const r of reports) {
        const how = needsGradients(r.settings.method)
          ? ` (N = ${r.settings.samples}, λ = ${r.settings.damp === 'auto' ? `${r.damp?.toExponential(1)} chosen from ${r.dampSearch?.length} candidates` : r.settings.damp}, blocks of ${r.settings.blockSize})`
          : '';
        const g = (r as Partial<GradualReport>).gradual;
        out.push(
          `${r.settings.method}${g ? ` gradual (${g.epochs.length} epochs, ${g.steps.filter(x => !x.skipped).length} pruning steps with fine-tuning)` : ''} at ${(r.sparsity.target * 100).toFixed(0)}%${how}`,
        );
        out.push(formatLayerTable(r), '');
      }
      out.push(
        formatComparison(
          reports.map(r => ({
            ...comparisonRow(r),
            method: (r as Partial<GradualReport>).gradual ? `${r.settings.method} gradual` : r.settings.method,
          })),
        ),
        '',
        `pruned models in ${outRoot}`,
      );
      process.stdout.write(out.join('\n') + '\n');
    });
}
