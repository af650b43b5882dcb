// The one-shot step on its own, as gradual pruning calls it: repeatedly on one loaded model, and with a plugged-in selection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { loadModel, readKernel, writeKernel } from '../../src/engine/model/load';
import { loadDataset } from '../../src/engine/data/calibration';
import { heldAtCapMessages, pruneStep, targetAt, type StepContext } from '../../src/engine/step';
import { DEFAULT_OPTIONS, type PruneEvent, type PruneOptions } from '../../src/engine/types';

const EX = path.resolve(__dirname, '../../examples');
const options = (over: Partial<PruneOptions>): PruneOptions => ({
  ...DEFAULT_OPTIONS,
  modelPath: path.join(EX, 'mlpnet/model.json'),
  dataPath: path.join(EX, 'data/calib-x.npy'),
  labelsPath: path.join(EX, 'data/calib-y.npy'),
  outDir: '/nowhere',
  sparsity: 0.9,
  samples: 64,
  blockSize: 400,
  threads: 1,
  ...over,
});
const zeros = (w: Float64Array) => w.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);

test('pruneStep called in a loop reaches each target in turn, pruned weights stay pruned', async () => {
  await initBackend('auto');
  const model = await loadModel(path.join(EX, 'mlpnet/model.json'));
  try {
    const o = options({ method: 'woodfisher' });
    const data = await loadDataset(model, o.dataPath, o.labelsPath, { samples: o.samples, shuffle: false, seed: 0 });
    const d = model.prunable.reduce((a, l) => a + l.size, 0);
    let before = new Set<string>();
    for (const [k, s] of [
      [1, 0.5],
      [2, 0.8],
    ] as const) {
      const events: PruneEvent[] = [];
      const { results, labelsSource } = await pruneStep({
        model,
        layers: model.prunable,
        data,
        options: o,
        target: { sparsity: s, layers: {} },
        damp: 1e-4,
        step: { k, of: 2 },
        hooks: { onEvent: e => events.push(e) },
      });
      assert.equal(labelsSource, 'given');
      assert.equal(
        results.reduce((a, r) => a + r.pruned, 0),
        Math.round(s * d),
        `step ${k}: exactly round(s·d) zeros`,
      );
      const now = new Set(model.prunable.flatMap(l => [...readKernel(model, l)].flatMap((v, i) => (v === 0 ? [`${l.name}:${i}`] : []))));
      assert.equal(now.size, Math.round(s * d), "the model holds the step's zeros");
      for (const q of before) assert.ok(now.has(q), `weight ${q} pruned at an earlier step stays pruned`);
      before = now;
      assert.ok(events.some(e => e.type === 'stage' && e.stage === 'blocks' && e.step === k && e.steps === 2));
      assert.equal(events.filter(e => e.type === 'layer').length, model.prunable.length);
    }
  } finally {
    model.model.dispose();
  }
});

test('targetAt applies the schedule to the overall and per-layer sparsity', () => {
  const o = options({ sparsity: 0.9, recomputeSchedule: 'linear', layers: { fc2: { sparsity: 0.6 }, fc3: { exclude: true } } });
  assert.deepEqual(targetAt(o, 1, 3), { sparsity: 0.3, layers: { fc2: 0.6 / 3 } });
  assert.deepEqual(targetAt(o, 3, 3), { sparsity: 0.9, layers: { fc2: 0.6 } });
});

test('a plugged-in selection replaces the default one, and the OBS update still zeroes what it selects', async () => {
  await initBackend('auto');
  const model = await loadModel(path.join(EX, 'mlpnet/model.json'));
  try {
    const o = options({ method: 'global-magnitude' });
    const seen: string[] = [];
    // Prunes the first row (PyTorch layout: one output unit's incoming weights) of every layer, nothing else.
    const firstRows = async (ctx: StepContext) => {
      seen.push(...ctx.layers.map(lw => lw.layer.name));
      const masks = ctx.layers.map(lw => {
        const m = new Uint8Array(lw.layer.size);
        m.fill(1, 0, lw.layer.size / lw.layer.torchShape[0]);
        return m;
      });
      return { masks, thresholds: ctx.layers.map(() => NaN) };
    };
    const { results } = await pruneStep({
      model,
      layers: model.prunable,
      options: o,
      target: { sparsity: 0, layers: {} },
      damp: 1,
      select: firstRows,
    });
    assert.deepEqual(
      seen,
      model.prunable.map(l => l.name),
    );
    model.prunable.forEach((l, i) => {
      const w = readKernel(model, l);
      const row = l.size / l.torchShape[0];
      assert.equal(zeros(w.subarray(0, row)), row, `${l.name}: first row pruned`);
      assert.equal(results[i].pruned, zeros(w), `${l.name}: the result counts the model's zeros`);
    });
  } finally {
    model.model.dispose();
  }
});

test("damp 'auto' widens its grid a decade at a time while an edge wins, and says so", async () => {
  const { chooseDamp, DAMP_WIDEN } = await import('../../src/engine/damp');
  await initBackend('auto');
  const model = await loadModel(path.join(EX, 'mlpnet/model.json'));
  try {
    const o = options({ method: 'woodfisher', sparsity: 0.8 });
    const data = await loadDataset(model, o.dataPath, o.labelsPath, { samples: o.samples, shuffle: false, seed: 0 });
    const events: PruneEvent[] = [];
    const timed = async <T>(_s: unknown, f: () => Promise<T> | T) => f();
    // one huge λ (OBS degenerates to magnitude-like steps): smaller λ does better, so the grid must grow downwards
    const r = await chooseDamp({
      model,
      layers: model.prunable,
      data,
      judge: data,
      options: o,
      inverses: 'keep',
      hooks: { onEvent: e => events.push(e) },
      timed,
      grid: [1e4],
    });
    const rel = r.table.map(t => t.relative);
    assert.ok(rel.length >= 2 && rel.length <= 1 + DAMP_WIDEN + 1, rel.join(','));
    assert.ok(Math.min(...rel) < 1e4, 'widened below the single grid point');
    const logs = events.flatMap(e => (e.type === 'log' ? [e.message] : []));
    assert.ok(
      logs.some(m => /widening the grid to/.test(m)),
      logs.join('\n'),
    );
    for (let i = 1; i < rel.length; i++) assert.ok(Math.abs(rel[i] / rel[i - 1] - 10) < 1e-9, 'a decade apart');
  } finally {
    model.model.dispose();
  }
});

test('streamed gradients (layer group by layer group) give the same saliencies, masks and weights as all at once', async () => {
  await initBackend('auto');
  const model = await loadModel(path.join(EX, 'mlpnet/model.json'));
  try {
    // labels drawn from the model (the true Fisher): later groups must reuse the first pass's draws
    const o = options({ method: 'woodfisher', sampleLabels: true });
    const data = await loadDataset(model, o.dataPath, undefined, { samples: o.samples, shuffle: false, seed: 0 });
    const dense = model.prunable.map(l => readKernel(model, l));
    const run = async (groups: string[][] | undefined, inverses: 'keep' | 'rebuild') => {
      model.prunable.forEach((l, i) => writeKernel(model, l, dense[i]));
      const events: PruneEvent[] = [];
      const { results, labelsSource } = await pruneStep({
        model,
        layers: model.prunable,
        data,
        options: o,
        target: { sparsity: 0.8, layers: {} },
        damp: 1e-4,
        inverses,
        groups,
        hooks: { onEvent: e => events.push(e) },
      });
      return { results, labelsSource, events, weights: model.prunable.map(l => readKernel(model, l)) };
    };
    const all = await run(undefined, 'keep');
    assert.equal(all.labelsSource, 'sampled');
    const groups = [['fc3', 'fc2'], ['fc1']];
    for (const inverses of ['keep', 'rebuild'] as const) {
      const s = await run(groups, inverses);
      assert.equal(s.labelsSource, 'sampled');
      assert.deepEqual(s.results, all.results, `${inverses}: per-layer results (counts, thresholds, saliency spread)`);
      s.weights.forEach((w, i) => assert.deepEqual(w, all.weights[i], `${inverses}: ${model.prunable[i].name} weights`));
      const passes = s.events
        .filter(e => e.type === 'stage' && e.stage === 'gradients' && e.done === e.total)
        .map(e => (e as { message?: string }).message);
      // keep: one pass per group; rebuild: again for every group but the last one computed (its gradients are still held)
      assert.deepEqual(
        passes,
        inverses === 'keep'
          ? ['layer group 1 of 2 (2 layers)', 'layer group 2 of 2 (1 layer)']
          : ['layer group 1 of 2 (2 layers)', 'layer group 2 of 2 (1 layer)', 'layer group 1 of 2 (2 layers)'],
      );
    }
  } finally {
    model.model.dispose();
  }
});

test('layers held at their cap: one warning per cap, naming the layers (a few, then how many more)', () => {
  const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
  const msgs = heldAtCapMessages([...names.map(name => ({ name, cap: 0.99 })), { name: 'head', cap: 0.5 }]);
  assert.equal(msgs.length, 2);
  assert.match(msgs[0], /^8 layers held at their cap of 99\.0% pruned: c1, c2, c3, c4, c5, c6 and 2 more \(/);
  assert.match(msgs[0], /--layer-cap c1=1\)$/);
  assert.match(msgs[1], /^layer head held at its cap of 50\.0% pruned .*--layer-cap head=1\)$/);
  assert.deepEqual(heldAtCapMessages([]), []);
  assert.match(
    heldAtCapMessages([
      { name: 'a', cap: 0.9 },
      { name: 'b', cap: 0.9 },
    ])[0],
    /^2 layers held at their cap of 90\.0% pruned: a, b \(/,
  );
});
