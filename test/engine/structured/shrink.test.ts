import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { tf, initBackend } from '../../../src/engine/backend';
import { channelGraph, type ChannelGraph } from '../../../src/engine/structured/graph';
import { shrinkModel, takeAlong } from '../../../src/engine/structured/shrink';
import { foldRemovedUnits } from '../../../src/engine/structured/fold';
import { mlp, relErr, tempDir, tfLoad, writeLayersModel } from '../model/fixtures';
import { freshSeed, rng } from '../linalg/reference';
import { flattenCnn, randomizeBatchNorm, residualConcatNet } from './fixtures';
import { buildMobileNetV2, buildInceptionLike } from '../../fixtures/mobilenetv2';

before(async () => {
  await initBackend('cpu');
});

/** The masked (unshrunk) model: a copy whose consumers ignore the removed channels (their input rows zeroed). */
async function maskedCopy(model: tf.LayersModel, g: ChannelGraph, removed: Uint8Array): Promise<tf.LayersModel> {
  const copy = await tfLoad(await writeLayersModel(model, tempDir('wf-struct-masked-')));
  for (const name of g.order) {
    const l = g.layers.get(name)!;
    if (l.role !== 'producer') continue;
    const layer = copy.getLayer(name),
      [kernel, ...rest] = layer.getWeights();
    const shape = kernel.shape,
      inAxis = shape.length - 2,
      v = Float32Array.from(kernel.dataSync());
    const outer = shape.slice(0, inAxis).reduce((a, b) => a * b, 1),
      n = shape[inAxis],
      inner = shape[inAxis + 1];
    l.inIds!.forEach((id, k) => {
      const c = g.classOf(id);
      if (c >= 0 && removed[c]) for (let a = 0; a < outer; a++) v.fill(0, (a * n + k) * inner, (a * n + k + 1) * inner);
    });
    const t = tf.tensor(v, shape);
    layer.setWeights([t, ...rest]);
    t.dispose();
  }
  return copy;
}

function randomRemoval(g: ChannelGraph, r: () => number, p: number): Uint8Array {
  // never every unit of a producer
  for (;;) {
    const removed = Uint8Array.from(g.classes, () => (r() < p ? 1 : 0));
    if (g.producers.every(pr => [...pr.unitClass].some(c => c < 0 || !removed[c]))) return removed;
  }
}

async function checkShrink(model: tf.LayersModel, inputShape: number[], what: string) {
  const g = channelGraph(model),
    seed = freshSeed(),
    r = rng(seed);
  assert.ok(g.classes.length > 0, `${what}: some units are removable`);
  const removed = randomRemoval(g, r, 0.4);
  const { model: shrunk, units } = await shrinkModel(model, g, removed);
  const masked = await maskedCopy(model, g, removed);
  const dir = tempDir('wf-struct-out-');
  const reloaded = await tfLoad(await writeLayersModel(shrunk, path.join(dir, 'm'))); // TF.js reads the output
  const x = tf.randomNormal([5, ...inputShape], 0, 1, 'float32', seed % 1000);
  const a = (masked.predict(x) as tf.Tensor).dataSync(),
    b = (reloaded.predict(x) as tf.Tensor).dataSync();
  assert.ok(relErr(b, a) < 1e-5, `${what}: shrunk vs masked outputs rel err ${relErr(b, a)}, seed ${seed}`);
  const params = (m: tf.LayersModel) => m.countParams();
  const removedUnits = units.reduce((s, u) => s + u.of - u.kept, 0);
  if (removedUnits > 0) assert.ok(params(reloaded) < params(model), `${what}: fewer parameters`);
  for (const u of units)
    assert.equal((reloaded.getLayer(u.layer).outputShape as number[]).at(-1), u.kept, `${what}: ${u.layer} has ${u.kept} units`);
  tf.dispose([x]);
  for (const m of [shrunk, masked, reloaded]) m.dispose();
  return { g, removed, units };
}

test('takeAlong keeps the given indices along one axis', () => {
  const v = Float32Array.from({ length: 24 }, (_, i) => i);
  const r = takeAlong(v, [2, 3, 4], 1, Int32Array.from([0, 2]));
  assert.deepEqual(r.shape, [2, 2, 4]);
  assert.deepEqual([...r.values], [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23]);
});

test('MLP: hidden units removable, the output layer never; shrunk = masked', async () => {
  const m = mlp([10, 8, 6, 3]);
  const g = channelGraph(m);
  assert.equal(g.classes.length, 8 + 6);
  assert.ok(
    g.producers.at(-1)!.unitClass.every(c => c === -1),
    'output units pinned',
  );
  for (let i = 0; i < 3; i++) await checkShrink(m, [10], 'mlp');
});

test('CNN with Flatten: a removed filter takes its rows at every position of the next Dense', async () => {
  const m = flattenCnn();
  const g = channelGraph(m);
  assert.equal(g.classes.length, 5 + 6);
  const dense = g.layers.get(m.layers[3].name)!;
  assert.equal(dense.inIds!.length, 2 * 2 * 5);
  for (let i = 0; i < 3; i++) await checkShrink(m, [6, 6, 2], 'cnn');
});

test('residual Add ties channels into one class; BatchNorm and depthwise channels follow; Concatenate offsets', async () => {
  const m = residualConcatNet();
  const g = channelGraph(m);
  // the stem's 6 channels and both blocks' projections form 6 classes of 3 producer units each
  const tied = g.classes.filter(c => c.units.length === 3);
  assert.equal(tied.length, 6);
  for (const c of tied) assert.ok(c.members.filter(mm => m.getLayer(mm.layer).getClassName() === 'BatchNormalization').length === 3);
  // each expand unit takes its BN, depthwise and second BN channel along
  const expand = g.classes.filter(c => c.members.some(mm => m.getLayer(mm.layer).getClassName() === 'DepthwiseConv2D'));
  assert.equal(expand.length, 24);
  for (const c of expand) assert.equal(c.members.length, 3);
  for (let i = 0; i < 4; i++) await checkShrink(m, [8, 8, 3], 'residual+concat');
});

test('an unknown layer pins the channels around it', async () => {
  const input = tf.input({ shape: [6] });
  const h = tf.layers.dense({ units: 4 }).apply(input) as tf.SymbolicTensor;
  const r = tf.layers.reshape({ targetShape: [2, 2] }).apply(h) as tf.SymbolicTensor;
  const f = tf.layers.flatten().apply(r) as tf.SymbolicTensor;
  const h2 = tf.layers.dense({ units: 5 }).apply(f) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 }).apply(h2) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  const g = channelGraph(m);
  assert.equal(g.classes.length, 5, 'only the second hidden layer');
  assert.ok(g.notes.some(n => /Reshape/.test(n)));
  await checkShrink(m, [6], 'reshape barrier');
});

test('MobileNetV2 (fixture) and an InceptionV3-like model: shrunk = masked, TF.js reloads the output', async () => {
  const mnv2 = buildMobileNetV2({ inputSize: 32, alpha: 0.35, stages: 4, classes: 10, lastChannels: 64, calibrate: 8 });
  const { g } = await checkShrink(mnv2, [32, 32, 3], 'mobilenetv2');
  assert.ok(
    g.classes.some(c => c.units.length >= 2),
    'residual stages tie projections',
  );
  assert.ok(g.classes.some(c => c.members.some(mm => mnv2.getLayer(mm.layer).getClassName() === 'DepthwiseConv2D')));
  mnv2.dispose();
  const inc = buildInceptionLike({ inputSize: 24, classes: 5, calibrate: 8 });
  await checkShrink(inc, [24, 24, 3], 'inception-like');
  inc.dispose();
});

/** A copy whose removed units have zero incoming weights (what the OBS update leaves): they output act(b). */
async function zeroedRowsCopy(model: tf.LayersModel, g: ChannelGraph, removed: Uint8Array): Promise<tf.LayersModel> {
  const copy = await tfLoad(await writeLayersModel(model, tempDir('wf-struct-zeroed-')));
  for (const p of g.producers) {
    const layer = copy.getLayer(p.name),
      [kernel, ...rest] = layer.getWeights(),
      v = Float32Array.from(kernel.dataSync());
    const out = kernel.shape.at(-1)!;
    for (let i = 0; i < v.length; i++) {
      const c = p.unitClass[i % out];
      if (c >= 0 && removed[c]) v[i] = 0;
    }
    const t = tf.tensor(v, kernel.shape);
    layer.setWeights([t, ...rest]);
    t.dispose();
  }
  return copy;
}

test("removed units' constant outputs act(b) are folded into the consumers' biases: shrunk = the zero-row model", async () => {
  const input = tf.input({ shape: [7, 7, 2] });
  const c1 = tf.layers
    .conv2d({ filters: 5, kernelSize: 3, activation: 'relu', biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 3 }) })
    .apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization().apply(c1) as tf.SymbolicTensor;
  const c2 = tf.layers
    .conv2d({ filters: 3, kernelSize: 1, activation: 'elu', biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 4 }) })
    .apply(input) as tf.SymbolicTensor;
  const c2c = tf.layers.cropping2D({ cropping: 1 }).apply(c2) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate().apply([bn, c2c]) as tf.SymbolicTensor;
  const pool = tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }).apply(cat) as tf.SymbolicTensor;
  const c3 = tf.layers
    .conv2d({ filters: 4, kernelSize: 1, activation: 'relu', biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 5 }) })
    .apply(pool) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(c3) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: out });
  randomizeBatchNorm(net, 11);
  const x0 = tf.input({ shape: [6] });
  const h1 = tf.layers
    .dense({ units: 7, activation: 'relu', biasInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: 6 }) })
    .apply(x0) as tf.SymbolicTensor;
  const h2 = tf.layers.dense({ units: 5, useBias: false }).apply(h1) as tf.SymbolicTensor; // no bias: the constant goes into the BN's mean
  const h3 = tf.layers.reLU().apply(tf.layers.batchNormalization().apply(h2) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const bnNet = tf.model({ inputs: x0, outputs: tf.layers.dense({ units: 3 }).apply(h3) as tf.SymbolicTensor });
  randomizeBatchNorm(bnNet, 12);
  for (const [model, shape, what] of [
    [mlp([6, 8, 5, 3]), [6], 'mlp'],
    [flattenCnn(), [6, 6, 2], 'cnn'],
    [net, [7, 7, 2], 'bn+concat+pool'],
    [bnNet, [6], 'no bias → BN'],
  ] as const) {
    const g = channelGraph(model),
      seed = freshSeed(),
      removed = randomRemoval(g, rng(seed), 0.4);
    const zeroed = await zeroedRowsCopy(model, g, removed);
    const work = await zeroedRowsCopy(model, g, removed);
    const { folded, dropped } = foldRemovedUnits(work, g, removed);
    assert.equal(dropped, 0, `${what}: every constant reaches a bias`);
    if (removed.some(r => r)) assert.ok(folded > 0, what);
    const { model: shrunk } = await shrinkModel(work, g, removed);
    const x = tf.randomNormal([4, ...shape], 0, 1, 'float32', seed % 1000);
    const a = (zeroed.predict(x) as tf.Tensor).dataSync(),
      b = (shrunk.predict(x) as tf.Tensor).dataSync();
    assert.ok(relErr(b, a) < 1e-5, `${what}: shrunk vs zero-row model rel err ${relErr(b, a)}, seed ${seed}`);
    for (const m of [zeroed, work, shrunk]) m.dispose();
    x.dispose();
  }
});

test('Conv1D filters shrink like Conv2D ones; a depthwise multiplier > 1 pins the channels it reads', async () => {
  const input = tf.input({ shape: [12, 3] });
  const a = tf.layers.conv1d({ filters: 6, kernelSize: 3, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv1d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(a) as tf.SymbolicTensor;
  const p = tf.layers.globalAveragePooling1d().apply(b) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 }).apply(p) as tf.SymbolicTensor;
  const m1 = tf.model({ inputs: input, outputs: out });
  assert.equal(channelGraph(m1).classes.length, 6 + 5);
  await checkShrink(m1, [12, 3], 'conv1d');

  const img = tf.input({ shape: [6, 6, 2] });
  const c = tf.layers.conv2d({ filters: 4, kernelSize: 1 }).apply(img) as tf.SymbolicTensor;
  const d = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }).apply(c) as tf.SymbolicTensor;
  const e = tf.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(d) as tf.SymbolicTensor;
  const f = tf.layers.flatten().apply(e) as tf.SymbolicTensor;
  const m2 = tf.model({ inputs: img, outputs: tf.layers.dense({ units: 2 }).apply(f) as tf.SymbolicTensor });
  const g = channelGraph(m2);
  assert.equal(g.classes.length, 3, "only the last conv's filters: the depthwise (multiplier 2) pins the first conv");
  assert.ok(g.notes.some(n => /DepthwiseConv2D/.test(n)));
  await checkShrink(m2, [6, 6, 2], 'depthwise multiplier 2');
});
