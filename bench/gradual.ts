// (g) Gradual pruning on the bundled MLPNet and training digits: gradual WoodFisher against gradual global magnitude
// (the same schedule, epochs and fine-tuning, only the pruning step differs) and against one shot, at 95% and 98%,
// averaged over seeds (batch order and calibration draws). Test accuracy on the 2,000 held-out digits.
// Every gradual run uses only the required settings (model, training data, sparsity, epochs): the defaults are on trial.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runGradual } from '../src/engine/gradual/run';
import { runPrune } from '../src/engine/prune';
import { DEFAULT_OPTIONS, type GradualOptions, type Method, type PruneOptions } from '../src/engine/types';
import type { BenchContext } from './structured';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
const cell = (xs: number[]) => (xs.length ? `${(100 * mean(xs)).toFixed(2)} ± ${(100 * sd(xs)).toFixed(2)}` : 'n/a');

export async function sectionG({ root, smoke, table, results }: BenchContext): Promise<void> {
  const ex = (p: string) => path.join(root, 'examples', p);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-gradual-'));
  const sparsities = smoke ? [0.9] : [0.95, 0.98];
  const seeds = smoke ? [0] : [0, 1, 2];
  const epochs = smoke ? 1 : 12;
  const evalData = { evalPath: ex('data/test-x.npy'), evalLabelsPath: ex('data/test-y.npy') };
  const rows: (string | number)[][] = [];
  const out: Record<string, unknown>[] = [];
  let dense: number | undefined;
  try {
    let run = 0;
    const acc: Record<string, Record<number, number[]>> = {};
    const secs: Record<string, number[]> = {};
    const record = (label: string, s: number, a: number, t: number) => {
      ((acc[label] ??= {})[s] ??= []).push(a);
      (secs[label] ??= []).push(t);
    };
    for (const sparsity of sparsities) {
      // One shot: the example recipe's settings (N = 1000 calibration digits, λ = 1e-6), and global magnitude.
      for (const method of ['woodfisher', 'global-magnitude'] as Method[]) {
        const o: PruneOptions = {
          ...DEFAULT_OPTIONS,
          ...evalData,
          modelPath: ex('mlpnet/model.json'),
          dataPath: ex('data/calib-x.npy'),
          labelsPath: ex('data/calib-y.npy'),
          sparsity,
          method,
          samples: smoke ? 64 : 1000,
          damp: 1e-6,
          outDir: path.join(tmp, `oneshot-${method}-${sparsity}`),
        };
        const r = await runPrune(o);
        dense ??= r.before?.accuracy;
        record(`one-shot ${method}`, sparsity, r.after!.accuracy, r.seconds.total);
        out.push({ kind: 'one-shot', method, sparsity, accuracy: r.after!.accuracy, seconds: r.seconds.total });
      }
      // The defaults of both methods, and WoodFisher with λ = 1e-2: damping that dominates this model's Fisher, so its
      // saliency nears magnitude's (docs/gradual.md: the variant level with global magnitude).
      const variants: { label: string; method: Method; extra: Partial<GradualOptions> }[] = [
        { label: 'gradual woodfisher', method: 'woodfisher', extra: {} },
        { label: 'gradual global-magnitude', method: 'global-magnitude', extra: {} },
        ...(smoke ? [] : [{ label: 'gradual woodfisher, λ = 1e-2', method: 'woodfisher' as Method, extra: { damp: 1e-2 } }]),
      ];
      for (const { label, method, extra } of variants) {
        for (const seed of seeds) {
          process.stdout.write(
            `  ${label} ${sparsity * 100}% seed ${seed} (run ${++run}/${sparsities.length * seeds.length * variants.length})…`,
          );
          const o = {
            ...DEFAULT_OPTIONS,
            ...evalData,
            modelPath: ex('mlpnet/model.json'),
            ...(smoke
              ? { dataPath: ex('data/calib-x.npy'), labelsPath: ex('data/calib-y.npy'), samples: 64 }
              : { dataPath: ex('data/train.npz') }),
            sparsity,
            epochs,
            method,
            seed,
            ...extra,
            outDir: path.join(tmp, `gradual-${label.replace(/\W+/g, '-')}-${sparsity}-${seed}`),
          } as GradualOptions;
          const r = await runGradual(o);
          const a = r.after!.accuracy;
          process.stdout.write(` ${(100 * a).toFixed(2)}% (${r.seconds.total.toFixed(0)} s)\n`);
          record(label, sparsity, a, r.seconds.total);
          out.push({
            kind: 'gradual',
            label,
            method,
            sparsity,
            seed,
            accuracy: a,
            seconds: r.seconds.total,
            settings: { lr: (r.settings as Partial<GradualOptions>).lr, samples: r.settings.samples, damp: r.settings.damp },
            afterSteps: r.gradual.steps.map(s => s.eval?.accuracy),
            epochs: r.gradual.epochs.map(e => e.eval?.accuracy),
            layers: Object.fromEntries(r.layers.map(l => [l.name, l.sparsity])),
          });
        }
      }
    }
    for (const [label, bySparsity] of Object.entries(acc)) {
      rows.push([
        label,
        ...sparsities.map(s => cell(bySparsity[s] ?? [])),
        (bySparsity[sparsities[0]] ?? []).length,
        mean(secs[label]).toFixed(0),
      ]);
    }
    table(
      `(g) gradual pruning, MLPNet on ${smoke ? 'a smoke run' : `the 8,000 training digits, ${epochs} epochs`} — test accuracy % (mean ± sd over seeds; dense ${dense === undefined ? 'n/a' : (100 * dense).toFixed(2)})`,
      ['method', ...sparsities.map(s => `${s * 100}%`), 'runs', 's/run'],
      rows,
    );
    if (!smoke)
      console.log(
        '    gradual: only the required settings (SGD momentum 0.9, lr 0.1 cosine, batch 64, steps at epochs 0, 2, 4, 6 on the cubic schedule; WoodFisher N = 256, λ = 1e-5, blocks of 1000)',
      );
    if (!smoke) console.log('    one-shot: N = 1000 calibration digits, λ = 1e-6 (the example recipe), no fine-tuning');
    results.gradual = { epochs, seeds, sparsities, dense, runs: out };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
