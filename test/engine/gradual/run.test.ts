// Gradual runs on the bundled MLPNet and digits, short enough for CI: schedule reached, masks exact, checkpoints
// loadable, resume equal to an uninterrupted run, cancel keeping the last checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runGradual } from '../../../src/engine/gradual/run';
import { runPrune, DAMP_SEARCH } from '../../../src/engine/prune';
import { evaluate } from '../../../src/engine/gradients/evaluate';
import { loadDataset } from '../../../src/engine/data/calibration';
import { loadModel, readKernel } from '../../../src/engine/model/load';
import { initBackend } from '../../../src/engine/backend';
import { planMemory } from '../../../src/engine/memory';
import { gradientPassBytes } from '../../../src/engine/gradients/perSample';
import { DEFAULT_OPTIONS, WoodFisherError, type GradualEvent, type GradualOptions, type MemoryPlan } from '../../../src/engine/types';
import { blockThreads } from '../../../src/engine/fisher/blockPool';

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
  const gradientEvents = events.flatMap(e => (e.type === 'stage' && e.stage === 'gradients' ? [e] : []));
  for (const e of gradientEvents)
    assert.match(
      e.message ?? '',
      new RegExp(`^pruning step ${e.step}/${e.steps} to \\d+\\.\\d%$`),
      'one gradient pass a step, named by it (no separate header)',
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

test('the plan counts the block threads a gradual step runs (default: one per core, as one-shot); a limit that cannot keep every inverse rebuilds them, says so, and writes the same model', async () => {
  const o = opts({ method: 'woodfisher', sparsity: 0.8, epochs: 1, samples: 64, damp: 1e-4 });
  const watch = () => {
    const seen = { plans: [] as MemoryPlan[], logs: [] as string[] };
    const onEvent = (e: GradualEvent) => {
      if (e.type === 'plan') seen.plans.push(e.memory);
      if (e.type === 'log') seen.logs.push(e.message);
    };
    return { seen, onEvent };
  };
  const kept = watch();
  await runGradual(o, { onEvent: kept.onEvent });
  const [plan] = kept.seen.plans;
  assert.equal(plan.strategy, 'keep');
  const threads = blockThreads(undefined, 34); // MLPNet's blocks of ≤ 1000 weights: 32 + 1 + 1
  const thread = plan.items.find(i => / worker threads \(runtime and native library\)$/.test(i.what));
  assert.equal(thread?.what, threads > 1 ? `${threads} worker threads (runtime and native library)` : undefined);

  const rebuilt = watch();
  const limited = { ...o, outDir: path.join(tmp(), 'out'), maxMemoryBytes: plan.totalBytes - 1 };
  await runGradual(limited, { onEvent: rebuilt.onEvent });
  assert.equal(rebuilt.seen.plans[0].strategy, 'rebuild');
  assert.equal(rebuilt.seen.plans[0].gradients, 'in memory');
  assert.ok(
    rebuilt.seen.logs.some(l => /^memory plan: .*rebuilt for its update/.test(l)),
    rebuilt.seen.logs.join('\n'),
  );
  assert.deepEqual(files(limited.outDir), files(o.outDir), 'rebuilding the inverses gives the same weights, byte for byte');
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

/** Accuracy and loss of the model written in dir, and the dtype of each prunable kernel in its manifest. */
async function written(dir: string) {
  await initBackend('wasm');
  const m = await loadModel(path.join(dir, 'model.json'));
  try {
    const ev = await evaluate(m, await loadDataset(m, path.join(EX, 'data/test-x.npy'), path.join(EX, 'data/test-y.npy')));
    type Spec = { name: string; dtype: string; quantization?: { dtype: string } };
    const specs: Spec[] = m.json.weightsManifest.flatMap((g: { weights: Spec[] }) => g.weights);
    const bytes = fs
      .readdirSync(dir)
      .filter(f => f === 'model.json' || f.endsWith('.bin'))
      .reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
    return {
      ev,
      bytes,
      dtypes: m.prunable.map(l => {
        const w = specs.find(x => x.name === l.weightName);
        return w?.quantization?.dtype ?? w?.dtype;
      }),
    }; // the stored encoding
  } finally {
    m.model.dispose();
  }
}

test("the final model is written in the run's encoding (the input's uint8, or quantize float16) with its size; the reported accuracy is the written model's; resume writes the same bytes", async () => {
  // A uint8 input: the bundled MLPNet written as uint8 by a one-shot run at sparsity 0.
  const q8 = path.join(tmp(), 'q8');
  await runPrune({
    ...DEFAULT_OPTIONS,
    modelPath: path.join(EX, 'mlpnet/model.json'),
    dataPath: '',
    method: 'magnitude',
    sparsity: 0,
    quantize: 'uint8',
    outDir: q8,
    backend: 'wasm',
  });
  for (const [input, quantize, dtype] of [
    [path.join(q8, 'model.json'), undefined, 'uint8'],
    [path.join(EX, 'mlpnet/model.json'), 'float16', 'float16'],
  ] as const) {
    const base = { modelPath: input, quantize, epochs: 2, pruneStart: 0, pruneEnd: 1, pruneEvery: 0.5 };
    const whole = opts(base);
    const report = await runGradual(whole);
    const w = await written(whole.outDir);
    assert.deepEqual(
      w.dtypes,
      w.dtypes.map(() => dtype),
      `${dtype}: every kernel written as ${dtype}`,
    );
    assert.equal(report.size?.output.raw, w.bytes, `${dtype}: the report's size is the bytes written`);
    assert.ok(report.quantization && report.quantization.relError > 0, `${dtype}: the encoding changed the weights`);
    assert.equal(report.after?.accuracy, w.ev.accuracy, `${dtype}: the reported accuracy is the written model's`);
    assert.ok(Math.abs(report.after!.loss - w.ev.loss) <= 1e-6 * Math.max(1, w.ev.loss));
    assert.notEqual(
      report.after?.loss,
      report.gradual.epochs.at(-1)!.eval!.loss,
      `${dtype}: measured after encoding, not the last epoch's float32 figure`,
    );

    const parted = opts(base);
    const ac = new AbortController();
    await assert.rejects(
      runGradual(parted, {
        signal: ac.signal,
        onEvent: e => {
          if (e.type === 'checkpoint' && e.epoch === 1) ac.abort();
        },
      }),
      /cancelled/,
    );
    const checkpoint = await written(parted.outDir);
    assert.deepEqual(
      checkpoint.dtypes,
      checkpoint.dtypes.map(() => 'float32'),
      'the checkpoint is float32 (exact)',
    );
    if (quantize)
      await assert.rejects(
        runGradual({ ...parted, quantize: undefined, resume: true }),
        /cannot resume: the checkpoint was made with quantize = "float16"/,
      );
    const resumed = await runGradual({ ...parted, resume: true });
    assert.deepEqual(files(parted.outDir), files(whole.outDir), `${dtype}: the resumed run writes the uninterrupted run's bytes`);
    assert.deepEqual(resumed.after, report.after);
    assert.deepEqual(resumed.size, report.size);
  }
});

test('damp auto inside gradual: every pruning step searches λ afresh at its own weights and uses the candidate of least calibration loss', async () => {
  const events: GradualEvent[] = [];
  const o = opts({
    method: 'woodfisher',
    damp: 'auto',
    samples: 32,
    epochs: 2,
    pruneStart: 0.5,
    pruneEnd: 1.5,
    pruneEvery: 0.5,
    initialSparsity: 0.5,
    sparsity: 0.8,
  });
  const report = await runGradual(o, { onEvent: e => events.push(e) });
  let candidates: { damp: number; loss: number }[] = [];
  const chosen: number[] = [];
  for (const e of events) {
    if (e.type === 'damp') candidates.push({ damp: e.damp, loss: e.loss });
    if (e.type !== 'pruningStep') continue;
    const r = e.record;
    assert.ok(!r.skipped, `step ${r.k} prunes`);
    assert.ok(candidates.length >= DAMP_SEARCH.length, `step ${r.k}: ${candidates.length} λ candidates tried`);
    const best = candidates.reduce((a, b) => (b.loss < a.loss ? b : a));
    assert.equal(r.damp, best.damp, `step ${r.k}: λ of least calibration loss`);
    assert.ok(Math.abs(r.achieved - r.target) < 1e-4, `step ${r.k}: ${r.achieved} for ${r.target}`);
    chosen.push(r.damp!);
    candidates = [];
  }
  assert.equal(chosen.length, 3);
  assert.equal(report.settings.damp, 'auto');
  assert.equal(report.damp, chosen[2], "the report names the last step's λ");
  assert.ok(Math.abs(report.sparsity.achieved - 0.8) < 1e-4);
  assert.ok(report.after!.accuracy > 0.5, `accuracy ${report.after!.accuracy}`);
});

test('sampleLabels in gradual: each step\'s gradients at labels drawn from the softmax (the "true" Fisher), the training labels still train', async () => {
  const base = {
    method: 'woodfisher' as const,
    samples: 32,
    epochs: 1,
    pruneStart: 0.2,
    pruneEnd: 0.6,
    pruneEvery: 0.2,
    initialSparsity: 0.5,
    sparsity: 0.8,
  };
  const given = opts(base),
    sampled = opts({ ...base, sampleLabels: true });
  const a = await runGradual(given),
    b = await runGradual(sampled);
  assert.equal(a.settings.labels, 'given');
  assert.equal(b.settings.labels, 'sampled');
  for (const r of [a, b]) assert.ok(Math.abs(r.sparsity.achieved - 0.8) < 1e-4 && r.gradual.epochs[0].train.accuracy > 0.5);
  const [ka, kb] = [await kernels(given.outDir), await kernels(sampled.outDir)];
  assert.ok(
    ka.some((k, i) => k.w.some((v, q) => v !== kb[i].w[q])),
    'other gradients, other weights',
  );
});

test('a target size is refused in gradual (it chooses a one-shot sparsity), before anything is written', async () => {
  const o = opts({ targetSize: 20_000 });
  await assert.rejects(
    runGradual(o),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'OPTIONS' && /target size is for one-shot pruning/.test(e.message),
  );
  assert.equal(fs.existsSync(o.outDir), false);
});

test('gradients that do not fit beside the training state are streamed by layer group at every pruning step: the same weights', async () => {
  const base = {
    method: 'woodfisher' as const,
    samples: 64,
    threads: 1,
    epochs: 1,
    pruneStart: 0.2,
    pruneEnd: 0.6,
    pruneEvery: 0.2,
    initialSparsity: 0.5,
    sparsity: 0.8,
  };
  const a = await runGradual(opts(base));
  assert.equal(a.memory.gradients, 'in memory');
  // The run's plan, as planMemory sees it: the gradual run holds its training state beside every pruning step.
  const held = a.memory.items.filter(i =>
    /^(optimizer state|calibration samples of a step|one training step|training labels|evaluation data|the runtime before the run)/.test(
      i.what,
    ),
  );
  assert.equal(held.length, 6, a.memory.items.map(i => i.what).join('; '));
  await initBackend('wasm');
  const m = await loadModel(path.join(EX, 'mlpnet/model.json'));
  const plan = (limitBytes: number) =>
    planMemory({
      layers: m.prunable,
      samples: 64,
      blockSize: DEFAULT_OPTIONS.blockSize,
      method: 'woodfisher',
      inverseForm: 'auto',
      threads: 1,
      limitBytes,
      gradientPassBytes: gradientPassBytes(m, m.prunable, 64),
      stream: true,
      heldBytes: held,
    });
  assert.equal(plan(2 ** 40).totalBytes, a.memory.totalBytes, 'the test plans what the run planned');
  const rebuild = plan(a.memory.totalBytes - 1);
  assert.equal(rebuild.strategy, 'rebuild');
  const all = rebuild.items.find(i => i.what.startsWith('per-sample gradients'))!.bytes;
  const limit = rebuild.totalBytes - all + 4 * 64 * 784 * 40; // room for fc1's gradients alone
  m.model.dispose();
  const logs: string[] = [];
  const b = await runGradual(opts({ ...base, maxMemoryBytes: limit }), {
    onEvent: e => {
      if (e.type === 'log') logs.push(e.message);
    },
  });
  assert.equal(b.memory.gradients, 'streamed');
  assert.deepEqual(b.memory.groups, [['fc3', 'fc2'], ['fc1']]);
  assert.ok(
    logs.some(l => /^memory plan: .* 2 layer groups in turn/.test(l)),
    logs.join('\n'),
  );
  assert.deepEqual(await kernels(b.output), await kernels(a.output), 'streamed gradients give the same weights at every step');
  // a λ search at every step holds all gradients at once: under that limit the run is refused before any work
  await assert.rejects(runGradual(opts({ ...base, damp: 'auto', maxMemoryBytes: limit })), (e: Error) =>
    /memory plan needs/.test(e.message),
  );
});
