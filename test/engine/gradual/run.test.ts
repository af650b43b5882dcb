// Gradual runs on the bundled MLPNet and digits, short enough for CI: schedule reached, masks exact, checkpoints
// loadable, resume equal to an uninterrupted run, cancel keeping the last checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runGradual } from '../../../src/engine/gradual/run';
import { loadModel, readKernel } from '../../../src/engine/model/load';
import { initBackend } from '../../../src/engine/backend';
import { DEFAULT_OPTIONS, WoodFisherError, type GradualEvent, type GradualOptions } from '../../../src/engine/types';

const EX = path.resolve(__dirname, '../../../examples');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wf-gradual-'));
// 1000 training digits, batches of 100: 10 optimizer steps per epoch.
const opts = (over: Partial<GradualOptions> = {}): GradualOptions => ({
  ...DEFAULT_OPTIONS,
  modelPath: path.join(EX, 'mlpnet/model.json'),
  dataPath: path.join(EX, 'data/calib-x.npy'),
  labelsPath: path.join(EX, 'data/calib-y.npy'),
  evalPath: path.join(EX, 'data/test-x.npy'),
  evalLabelsPath: path.join(EX, 'data/test-y.npy'),
  outDir: path.join(tmp(), 'out'),
  sparsity: 0.9,
  epochs: 3,
  method: 'global-magnitude',
  samples: 64,
  optimizer: 'sgd',
  lr: 0.05,
  lrSchedule: 'cosine',
  batchSize: 100,
  momentum: 0.9,
  weightDecay: 0,
  backend: 'wasm',
  ...over,
});
const files = (dir: string) =>
  Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter(f => f !== 'report.json' && f !== 'checkpoint.json' && !f.startsWith('.'))
      .map(f => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]),
  );

async function kernels(dir: string) {
  await initBackend('wasm');
  const m = await loadModel(path.join(dir, 'model.json'));
  try {
    return m.prunable.map(l => ({ name: l.name, w: readKernel(m, l) }));
  } finally {
    m.model.dispose();
  }
}

test('a short WoodFisher gradual run (2 sub-steps per step) reaches the schedule, keeps masks exact, reports every epoch and step', async () => {
  const inputBefore = files(path.join(EX, 'mlpnet'));
  const events: GradualEvent[] = [];
  const o = opts({
    method: 'woodfisher',
    samples: 32,
    damp: 1e-6,
    recompute: 2,
    pruneStart: 0.5,
    pruneEnd: 1.5,
    pruneEvery: 0.5,
    initialSparsity: 0.3,
  });
  const report = await runGradual(o, { onEvent: e => events.push(e) });
  const steps = events.flatMap(e => (e.type === 'pruningStep' ? [e.record] : []));
  assert.deepEqual(
    steps.map(s => s.epoch),
    [0.5, 1, 1.5],
  );
  assert.ok(Math.abs(steps[0].target - 0.3) < 1e-12 && steps[2].target === 0.9);
  for (const s of steps) {
    assert.ok(Math.abs(s.achieved - s.target) < 1e-4, `step ${s.k}: ${s.achieved} for ${s.target}`);
    assert.equal(s.damp, 1e-6);
    assert.ok(
      s.layers.every(l => l.blocks > 0 && l.form !== 'none'),
      'each step built Fisher blocks',
    );
  }
  assert.ok(
    events.some(e => e.type === 'stage' && e.stage === 'gradients' && e.step === 2),
    'fresh gradients at each step',
  );
  assert.equal(
    events.filter(e => e.type === 'layer').length,
    3 * 2 * 3,
    'two sub-steps (recompute 2) per pruning step, each updating the 3 layers',
  );
  const epochs = events.flatMap(e => (e.type === 'epoch' ? [e.record] : []));
  assert.equal(epochs.length, 3);
  for (const e of epochs) assert.ok(Number.isFinite(e.train.loss) && e.eval && e.eval.accuracy > 0.5);
  assert.ok(epochs[2].sparsity > 0.899, 'the final epoch keeps the target sparsity');
  assert.deepEqual(
    events.filter(e => e.type === 'checkpoint').map(e => (e as { epoch: number }).epoch),
    [1, 2],
  );
  // The masks held through fine-tuning: the final weights have exactly the last step's zeros.
  const final = await kernels(o.outDir);
  const zeros = final.reduce((a, k) => a + k.w.filter(v => v === 0).length, 0);
  assert.equal(
    zeros,
    steps[2].layers.reduce((a, l) => a + l.pruned, 0),
  );
  assert.equal(report.sparsity.pruned, zeros);
  assert.equal(report.gradual.finished, true);
  assert.ok(report.after && report.after.accuracy > 0.8, `accuracy after ${report.after?.accuracy}`);
  assert.deepEqual(
    fs.readdirSync(o.outDir).sort(),
    ['.woodfisher-output.json', 'group1-shard1of1.bin', 'model.json', 'report.json'],
    'the final output drops the checkpoint files',
  );
  assert.equal(JSON.parse(fs.readFileSync(path.join(o.outDir, '.woodfisher-output.json'), 'utf8')).kind, 'gradual');
  assert.deepEqual(files(path.join(EX, 'mlpnet')), inputBefore, 'input model untouched');
});

test('resume after a cancel equals the uninterrupted run (same seed → same weights); the checkpoint is loadable', async () => {
  for (const optimizer of ['sgd', 'adam'] as const) {
    const base = { optimizer, lr: optimizer === 'adam' ? 1e-3 : 0.05, seed: 3, pruneStart: 0, pruneEnd: 2, pruneEvery: 0.5 };
    const whole = opts(base);
    await runGradual(whole);

    const parted = opts(base);
    const ac = new AbortController();
    await assert.rejects(
      runGradual(parted, {
        signal: ac.signal,
        onEvent: e => {
          if (e.type === 'checkpoint' && e.epoch === 1) ac.abort();
        },
      }),
      (e: unknown) => e instanceof WoodFisherError && e.code === 'CANCELLED' && /checkpoint after epoch 1 is in .*--resume/.test(e.message),
    );
    // What a cancel leaves is a loadable model plus the checkpoint.
    assert.ok(fs.existsSync(path.join(parted.outDir, 'checkpoint.json')));
    const mid = await kernels(parted.outDir);
    assert.ok(
      mid.some(k => k.w.some(v => v === 0)),
      'the checkpoint holds the pruned weights',
    );
    // Without --resume the checkpoint is not overwritten.
    await assert.rejects(runGradual(parted), /unfinished gradual run; pass --resume/);
    await assert.rejects(runGradual({ ...parted, resume: true, lr: 0.07 }), /cannot resume: the checkpoint was made with lr = 0\.0/);
    const report = await runGradual({ ...parted, resume: true });
    assert.equal(report.gradual.epochs.length, 3);
    assert.deepEqual(
      files(parted.outDir),
      files(whole.outDir),
      `${optimizer}: resumed weights equal the uninterrupted run's, byte for byte`,
    );
  }
});

test('cancelling before the first epoch ends writes nothing; --resume without a checkpoint is refused', async () => {
  const o = opts();
  const ac = new AbortController();
  await assert.rejects(
    runGradual(o, {
      signal: ac.signal,
      onEvent: e => {
        if (e.type === 'stage' && e.stage === 'train' && e.done === 3) ac.abort();
      },
    }),
    /cancelled before the first epoch ended; nothing was written/,
  );
  assert.equal(fs.existsSync(o.outDir), false);
  await assert.rejects(runGradual({ ...o, resume: true }), /nothing to resume/);
});
