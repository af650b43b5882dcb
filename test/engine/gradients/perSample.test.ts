import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../src/engine/backend';
import { loadModel, type LoadedModel } from '../../../src/engine/model/load';
import { perSampleGradients } from '../../../src/engine/gradients/perSample';
import { evaluate } from '../../../src/engine/gradients/evaluate';
import type { Dataset } from '../../../src/engine/data/calibration';
import { mulberry32 } from '../../../src/engine/data/random';
import { WoodFisherError } from '../../../src/engine/types';
import { tempDir, writeLayersModel, mlp, relErr } from '../model/fixtures';

before(async () => {
  await initBackend('wasm');
});

function dataset(m: LoadedModel, n: number, seed: number, labelled = true): Dataset {
  const r = mulberry32(seed);
  const per = m.inputShape.reduce((a, b) => a * b, 1);
  return {
    x: Float32Array.from({ length: n * per }, () => r() * 2 - 1),
    shape: [n, ...m.inputShape],
    count: n,
    source: 'random',
    labels: labelled ? Int32Array.from({ length: n }, () => Math.floor(r() * m.numClasses)) : undefined,
  };
}

async function save(model: tf.LayersModel): Promise<LoadedModel> {
  return loadModel(await writeLayersModel(model, tempDir()));
}

async function compare(model: tf.LayersModel, n = 7, batchSize = 3) {
  const m = await save(model);
  const data = dataset(m, n, 3);
  const ref = await perSampleGradients(m, m.prunable, data, { mode: 'reference' });
  const fast = await perSampleGradients(m, m.prunable, data, { mode: 'batched', batchSize });
  for (const l of m.prunable) {
    const a = fast.grads.get(l.name)!,
      b = ref.grads.get(l.name)!;
    assert.equal(a.length, n * l.size);
    assert.ok(
      b.some(v => v !== 0),
      `${l.name}: reference gradient is not all zero`,
    );
    const e = relErr(a, b);
    assert.ok(e <= 1e-4, `${l.kind} ${l.name}: relative error ${e}`);
  }
  assert.ok(Math.abs(fast.meanLoss - ref.meanLoss) <= 1e-5 * Math.abs(ref.meanLoss));
  return { m, ref, fast };
}

test('batched per-sample gradients match one-at-a-time tf.grads: Dense (softmax and logits)', async () => {
  await compare(mlp([6, 5, 4, 3]));
  await compare(mlp([5, 4, 3], { softmax: false, bias: false }));
});

test('batched per-sample gradients match one-at-a-time tf.grads: Conv2D (strides, same/valid), DepthwiseConv2D, Conv1D', async () => {
  const input = tf.input({ shape: [9, 8, 2] });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'tanh' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: 'valid', activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 2, kernelSize: 2, strides: [1, 2], padding: 'valid' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  const { m } = await compare(tf.model({ inputs: input, outputs: out }));
  assert.deepEqual(
    m.prunable.map(p => p.kind),
    ['Conv2D', 'Conv2D', 'DepthwiseConv2D', 'Conv2D', 'Dense'],
  );

  const s = tf.sequential();
  s.add(tf.layers.conv1d({ inputShape: [10, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
  s.add(tf.layers.conv1d({ filters: 2, kernelSize: 2, strides: 2, dilationRate: 1, padding: 'valid' }));
  s.add(tf.layers.dense({ units: 3 })); // Dense on a sequence: Σ over time steps
  s.add(tf.layers.flatten());
  s.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  await compare(s);

  const w = tf.sequential(); // 3·3·16 = 144 patch columns: the strided-slice patch path
  w.add(tf.layers.conv2d({ inputShape: [6, 6, 16], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  w.add(tf.layers.flatten());
  w.add(tf.layers.dense({ units: 2 }));
  await compare(w, 5, 2);

  const d = tf.sequential();
  d.add(tf.layers.depthwiseConv2d({ inputShape: [7, 7, 2], kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 1 }));
  d.add(tf.layers.flatten());
  d.add(tf.layers.dense({ units: 2 }));
  await compare(d);
});

test('sampled labels are seeded; masks zero gradient entries; progress and cancel work', async () => {
  const m = await save(mlp([4, 5, 3]));
  const data = dataset(m, 20, 5, false);
  const a = await perSampleGradients(m, m.prunable, data, { seed: 11 });
  const b = await perSampleGradients(m, m.prunable, data, { seed: 11 });
  assert.equal(a.labelsSource, 'sampled');
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.grads.get(m.prunable[0].name), b.grads.get(m.prunable[0].name));
  assert.ok(a.labels.every(y => y >= 0 && y < 3));
  const c = await perSampleGradients(m, m.prunable, data, { seed: 12 });
  assert.notDeepEqual(Array.from(c.labels), Array.from(a.labels));

  const l0 = m.prunable[0];
  const mask = new Uint8Array(l0.size);
  mask[0] = 1;
  mask[7] = 1;
  const progress: number[] = [];
  const g = await perSampleGradients(
    m,
    m.prunable,
    { ...data, labels: a.labels },
    { masks: new Map([[l0.name, mask]]), batchSize: 8, onProgress: d => progress.push(d) },
  );
  assert.deepEqual(progress, [8, 16, 20]);
  const rows = g.grads.get(l0.name)!;
  const full = a.grads.get(l0.name)!;
  for (let r = 0; r < 20; r++) {
    assert.equal(rows[r * l0.size], 0);
    assert.equal(rows[r * l0.size + 7], 0);
  }
  assert.ok(relErr(rows.subarray(8, 20), full.subarray(8, 20)) < 1e-6, 'unmasked entries unchanged');

  const ac = new AbortController();
  await assert.rejects(
    perSampleGradients(m, m.prunable, data, {
      batchSize: 4,
      signal: ac.signal,
      onProgress: d => {
        if (d >= 8) ac.abort();
      },
    }),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'CANCELLED',
  );
});

test('evaluate: accuracy and mean cross-entropy agree with a direct computation', async () => {
  const m = await save(mlp([4, 6, 3], { softmax: false }));
  const data = dataset(m, 50, 9);
  const r = await evaluate(m, data, { batchSize: 16 });
  const logits = (m.model.predict(tf.tensor(data.x, data.shape)) as tf.Tensor).arraySync() as number[][];
  let correct = 0,
    loss = 0;
  logits.forEach((z, i) => {
    const mx = Math.max(...z);
    const lse = mx + Math.log(z.reduce((s, v) => s + Math.exp(v - mx), 0));
    loss += lse - z[data.labels![i]];
    if (z.indexOf(mx) === data.labels![i]) correct++;
  });
  assert.equal(r.samples, 50);
  assert.equal(r.accuracy, correct / 50);
  assert.ok(Math.abs(r.loss - loss / 50) < 1e-5 * (loss / 50));
  await assert.rejects(evaluate(m, { ...data, labels: undefined }), (e: unknown) => e instanceof WoodFisherError && e.code === 'LABELS');
});

test("shared layers: the batched pass sums the calls' contributions and equals one-at-a-time tf.grads; no tensors leak", async () => {
  const input = tf.input({ shape: [4] });
  const shared = tf.layers.dense({ units: 4, activation: 'tanh', name: 'shared' });
  const h = shared.apply(shared.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, name: 'head' }).apply(h) as tf.SymbolicTensor;
  const m = await save(tf.model({ inputs: input, outputs: out }));
  const data = dataset(m, 6, 2);
  const mlpM = await save(mlp([5, 4, 3]));
  await perSampleGradients(mlpM, mlpM.prunable, dataset(mlpM, 3, 1)); // warm-up (cached one-hot filters etc.)
  const before = tf.memory().numTensors;
  const auto = await perSampleGradients(m, m.prunable, data);
  const ref = await perSampleGradients(m, m.prunable, data, { mode: 'reference' });
  for (const name of ['shared', 'head']) {
    assert.ok(ref.grads.get(name)!.some(v => v !== 0));
    assert.ok(relErr(auto.grads.get(name)!, ref.grads.get(name)!) < 1e-5, name);
  }
  await perSampleGradients(mlpM, mlpM.prunable, dataset(mlpM, 9, 1), { batchSize: 4 });
  await evaluate(mlpM, dataset(mlpM, 9, 1));
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
});

test('non-finite gradients raise NUMERIC naming the layer', async () => {
  const { writeKernel, readKernel } = await import('../../../src/engine/model/load');
  const m = await save(mlp([4, 5, 3], { softmax: false }));
  const l = m.prunable[0];
  writeKernel(
    m,
    l,
    readKernel(m, l).map(() => 3e38),
  );
  await assert.rejects(
    perSampleGradients(m, m.prunable, dataset(m, 4, 1)),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'NUMERIC' && /layer '/.test(e.message),
  );
});

test('dilated Conv2D (no TF.js gradient exists) and DepthwiseConv2D with dilationRate (ignored by TF.js layers): ⟨g_n, V⟩ = Σ_c (p − onehot(y))_c · z_c(V) for a model linear in the kernel', async () => {
  const { writeKernel, readKernel } = await import('../../../src/engine/model/load');
  for (const first of [
    tf.layers.conv2d({ inputShape: [9, 9, 2], filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', useBias: false }),
    tf.layers.depthwiseConv2d({
      inputShape: [9, 9, 2],
      kernelSize: 2,
      depthMultiplier: 2,
      dilationRate: 3,
      padding: 'valid',
      useBias: false,
    }),
  ]) {
    const s = tf.sequential();
    s.add(first);
    s.add(tf.layers.flatten());
    s.add(tf.layers.dense({ units: 4, useBias: false }));
    const m = await save(s);
    const data = dataset(m, 5, 4);
    const g = await perSampleGradients(m, m.prunable, data, { mode: 'batched' });
    const l = m.prunable[0];
    const rows = g.grads.get(l.name)!;
    const logits = (m.model.predict(tf.tensor(data.x, data.shape)) as tf.Tensor).arraySync() as number[][];
    const r = mulberry32(42);
    const V = Float64Array.from({ length: l.size }, () => r() - 0.5);
    const W = readKernel(m, l);
    writeKernel(m, l, V);
    const zV = (m.model.predict(tf.tensor(data.x, data.shape)) as tf.Tensor).arraySync() as number[][];
    writeKernel(m, l, W);
    for (let n = 0; n < 5; n++) {
      const z = logits[n];
      const mx = Math.max(...z);
      const e = z.map(v => Math.exp(v - mx));
      const sum = e.reduce((a, b) => a + b, 0);
      const expect = e.reduce((acc, v, c) => acc + (v / sum - (c === data.labels![n] ? 1 : 0)) * zV[n][c], 0);
      let got = 0,
        scale = 0;
      for (let k = 0; k < l.size; k++) {
        got += rows[n * l.size + k] * V[k];
        scale += Math.abs(rows[n * l.size + k] * V[k]);
      }
      // float32 sums with cancellation: relative to the magnitude of the summed terms, not of the (small) result
      assert.ok(Math.abs(got - expect) <= 1e-4 * Math.max(1e-6, scale), `${l.kind} sample ${n}: ${got} vs ${expect} (terms ${scale})`);
    }
  }
});
