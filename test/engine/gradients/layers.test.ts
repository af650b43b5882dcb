// Per-sample gradients of every supported layer kind against tf.grads one sample at a time, on fresh random inputs.
// Where TF.js' own gradient is broken or missing (BatchNormalization without scale/center, tfjs#2868; dilated convs)
// the oracle is tf.grads on an equivalent model TF.js can differentiate (explicit γ = 1 / β = 0; a zero-spread kernel).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { initBackend, tf } from '../../../src/engine/backend';
import { loadModel, type LoadedModel } from '../../../src/engine/model/load';
import { perSampleGradients, type GradientSet } from '../../../src/engine/gradients/perSample';
import type { Dataset } from '../../../src/engine/data/calibration';
import { mulberry32 } from '../../../src/engine/data/random';
import { WoodFisherError } from '../../../src/engine/types';
import { tempDir, writeLayersModel, relErr } from '../model/fixtures';
import { buildMobileNetV2, buildInceptionLike } from '../../fixtures/mobilenetv2';
import { fusions, graphSteps } from '../../../src/engine/gradients/backward';
import { onnxRuntimeUnavailable } from '../../../src/engine/linalg/accel';

type Sym = tf.SymbolicTensor;
before(async () => {
  await initBackend('wasm');
});

// fresh inputs every run (samples on a ReLU kink redrawn); the seed is printed on failure: SEED=<printed − 1> with only that test selected
// (--test-name-pattern) gives its first dataset the same inputs
let seed = process.env.SEED ? Number(process.env.SEED) : 1000 + Math.floor(Math.random() * 1e6);
function dataset(m: LoadedModel, n: number): Dataset {
  const r = mulberry32(++seed);
  const per = m.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * per }, () => r() * 2 - 1);
  for (let i = 0; i < n; i++)
    for (let tries = 0; nearKink(m.model, x.subarray(i * per, (i + 1) * per), m.inputShape); tries++) {
      assert.ok(tries < 100, 'every draw lies on a ReLU kink');
      for (let j = i * per; j < (i + 1) * per; j++) x[j] = r() * 2 - 1;
    }
  return {
    x,
    shape: [n, ...m.inputShape],
    count: n,
    source: 'random',
    labels: Int32Array.from({ length: n }, () => Math.floor(r() * m.numClasses)),
  };
}

/** Whether a standalone ReLU / ReLU6 layer's input lies within 1e-5·rms of a kink (0 or the cap) for this sample: there
 *  float32 rounding picks the branch, and two correct gradients differ by a whole unit's contribution. */
function nearKink(model: tf.LayersModel, sample: Float32Array, shape: number[]): boolean {
  const caps = new Map<tf.layers.Layer, number>();
  for (const l of model.layers) {
    const c = l.getConfig();
    if (l.getClassName() === 'ReLU') caps.set(l, (c.maxValue as number | null) ?? Infinity);
    else if (l.getClassName() === 'Activation' && (c.activation === 'relu' || c.activation === 'relu6'))
      caps.set(l, c.activation === 'relu6' ? 6 : Infinity);
  }
  if (caps.size === 0) return false;
  const layers = [...caps.keys()];
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map(l => l.input as Sym) });
  return tf.tidy(() => {
    const zs = [probe.predict(tf.tensor(sample, [1, ...shape]))].flat() as tf.Tensor[];
    return zs.some((z, k) => {
      const v = z.dataSync() as Float32Array,
        cap = caps.get(layers[k])!;
      const rms = Math.sqrt(v.reduce((a: number, b: number) => a + b * b, 0) / v.length);
      return v.some(a => Math.min(Math.abs(a), Math.abs(a - cap)) < 1e-5 * rms);
    });
  });
}

/** BatchNormalization layers with random γ, β and moving statistics (fresh seeds each call). */
function randomBatchNorm(epsilon?: number) {
  const r = mulberry32(++seed);
  const rand = (lo: number, hi: number) => tf.initializers.randomUniform({ minval: lo, maxval: hi, seed: Math.floor(r() * 1e6) });
  return (o: { center?: boolean; scale?: boolean } = {}) =>
    tf.layers.batchNormalization({
      ...o,
      gammaInitializer: rand(0.5, 2),
      betaInitializer: rand(-0.5, 0.5),
      movingMeanInitializer: rand(-0.5, 0.5),
      movingVarianceInitializer: rand(0.3, 2),
      ...(epsilon !== undefined ? { epsilon } : {}),
    });
}

async function save(model: tf.LayersModel): Promise<LoadedModel> {
  return loadModel(await writeLayersModel(model, tempDir()));
}

/** Our batched gradients (the ONNX Runtime pass where it runs the model; the TF.js pass with onnxruntime's and with
 *  TF.js' contractions) vs the oracle's one-at-a-time tf.grads, layer by layer. */
function assertClose(
  fast: GradientSet,
  ref: GradientSet,
  m: LoadedModel,
  label: string,
  map: (name: string, g: Float32Array) => Float32Array = (_n, g) => g,
  tol = 1e-4,
) {
  for (const l of m.prunable) {
    const a = fast.grads.get(l.name)!,
      b = map(l.name, ref.grads.get(l.name)!);
    assert.equal(a.length, b.length, `${label} ${l.name}: length`);
    assert.ok(
      b.some(v => v !== 0),
      `${label} ${l.name}: the reference gradient is not all zero`,
    );
    const e = relErr(a, b);
    assert.ok(e <= tol, `${label} ${l.kind} '${l.name}': relative error ${e.toExponential(2)} (seed ${seed})`);
  }
  assert.ok(Math.abs(fast.meanLoss - ref.meanLoss) <= 1e-5 * Math.max(1, Math.abs(ref.meanLoss)), `${label}: loss`);
}

const ortLoads = onnxRuntimeUnavailable() === undefined;

async function compareWith(
  m: LoadedModel,
  oracle: LoadedModel,
  label: string,
  n = 5,
  map?: (name: string, g: Float32Array) => Float32Array,
  onnx = false, // the ONNX Runtime pass runs this model where onnxruntime-node loads
) {
  const data = dataset(m, n);
  const ref = await perSampleGradients(oracle, oracle.prunable, data, { mode: 'reference' });
  const variants = [{ pass: 'auto' }, { pass: 'tfjs' }, { pass: 'tfjs', contractions: 'tfjs' }] as const;
  for (const v of variants) {
    const fast = await perSampleGradients(m, m.prunable, data, { mode: 'batched', batchSize: 3, ...v });
    if (v.pass === 'auto') assert.equal(fast.pass.startsWith('onnxruntime'), onnx && ortLoads, `${label}: ran on ${fast.pass}`);
    else assert.match(fast.pass, /^TF\.js/);
    assertClose(fast, ref, m, `${label} (${JSON.stringify(v)})`, map);
  }
}

async function compare(model: tf.LayersModel, label: string, n = 5, onnx = false) {
  const m = await save(model);
  try {
    await compareWith(m, m, label, n, undefined, onnx);
  } finally {
    m.model.dispose();
  }
  return m;
}

/** The same function with BatchNormalization's missing γ/β made explicit (γ = 1, β = 0): TF.js can differentiate it. */
async function explicitAffine(model: tf.LayersModel): Promise<tf.LayersModel> {
  const topo = JSON.parse(JSON.stringify(model.toJSON(null, false)));
  for (const l of topo.config.layers) {
    if (l.class_name !== 'BatchNormalization') continue;
    if (!l.config.scale) {
      l.config.scale = true;
      l.config.gamma_initializer = { class_name: 'Ones', config: {} };
    }
    if (!l.config.center) {
      l.config.center = true;
      l.config.beta_initializer = { class_name: 'Zeros', config: {} };
    }
  }
  const clone = await tf.models.modelFromJSON({ modelTopology: topo });
  const byName = new Map(model.weights.map(w => [w.originalName, w]));
  for (const w of clone.weights) {
    const src = byName.get(w.originalName);
    if (src) w.write(src.read());
  }
  return clone;
}

test('MobileNetV2-shaped model (ZeroPadding2D, strided valid Conv2D, BatchNormalization, ReLU6, DepthwiseConv2D, Add, global pooling, Dense)', async () => {
  const m = await compare(
    buildMobileNetV2({ inputSize: 32, alpha: 0.35, classes: 7, stages: 4, lastChannels: 48, seed: 3 }),
    'mobilenetv2',
    4,
    true,
  );
  assert.deepEqual([...new Set(m.prunable.map(l => l.kind))].sort(), ['Conv2D', 'Dense', 'DepthwiseConv2D']);
});

test('BatchNormalization without scale and/or center (tfjs#2868), Concatenate, pooling: Inception-like', async () => {
  const model = buildInceptionLike({ inputSize: 23, classes: 5, seed: 4, width: 4 });
  const m = await save(model);
  await assert.rejects(
    perSampleGradients(m, m.prunable, dataset(m, 1), { mode: 'reference' }),
    "TF.js' own gradient still fails here (tfjs#2868); if it is fixed, the test can compare directly",
  );
  const oracle = await save(await explicitAffine(model));
  await compareWith(m, oracle, 'inception scale: false', 4, undefined, true);

  // center: false and both off, after a Dense and a Conv1D
  const input = tf.input({ shape: [12, 3] });
  let x = tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as Sym;
  x = tf.layers
    .batchNormalization({
      center: false,
      betaInitializer: 'zeros',
      gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 1 }),
      movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 2 }),
      movingMeanInitializer: tf.initializers.randomNormal({ seed: 3 }),
    })
    .apply(x) as Sym;
  x = tf.layers.activation({ activation: 'elu' }).apply(x) as Sym;
  x = tf.layers.flatten().apply(x) as Sym;
  x = tf.layers.dense({ units: 6 }).apply(x) as Sym;
  x = tf.layers
    .batchNormalization({
      scale: false,
      center: false,
      movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 4 }),
    })
    .apply(x) as Sym;
  const out = tf.layers
    .dense({ units: 3, activation: 'softmax' })
    .apply(tf.layers.activation({ activation: 'tanh' }).apply(x) as Sym) as Sym;
  const bnModel = tf.model({ inputs: input, outputs: out });
  await compareWith(await save(bnModel), await save(await explicitAffine(bnModel)), 'center: false', 5);
});

test('strided and dilated Conv2D / Conv1D (TF.js cannot run causal padding forward): the oracle is the same conv with a zero-spread kernel (TF.js has no dilated gradient)', async () => {
  // Original: dilated convs. Oracle: kernel (k−1)·d + 1 with the taps at multiples of d, dilation 1; its gradient at
  // those positions is the original kernel's gradient.
  const build = (spread: boolean) => {
    const input = tf.input({ shape: [13, 11, 3] });
    const k = 3,
      d = 2;
    let x = tf.layers
      .conv2d({
        filters: 4,
        kernelSize: spread ? (k - 1) * d + 1 : k,
        dilationRate: spread ? 1 : d,
        padding: 'same',
        activation: 'relu',
        name: 'dil',
      })
      .apply(input) as Sym;
    x = tf.layers
      .conv2d({ filters: 5, kernelSize: [3, 2], strides: [2, 1], padding: 'valid', activation: 'selu', name: 'strided' })
      .apply(x) as Sym;
    // (kernel 2 with stride 3 and 'same' padding gives all zeros on TF.js 4.22's wasm backend: a forward bug, not ours)
    x = tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 3, padding: 'same', name: 'strided3' }).apply(x) as Sym;
    x = tf.layers.reshape({ targetShape: [8, 3] }).apply(x) as Sym;
    x = tf.layers
      .conv1d({
        filters: 4,
        kernelSize: 2,
        dilationRate: spread ? 1 : 2,
        padding: 'same',
        activation: 'relu',
        name: 'causal',
        ...(spread ? { kernelSize: 3 } : {}),
      })
      .apply(x) as Sym;
    x = tf.layers.conv1d({ filters: 3, kernelSize: 2, strides: 2, padding: 'valid', name: 'c1s' }).apply(x) as Sym;
    const out = tf.layers.dense({ units: 4, name: 'head' }).apply(tf.layers.flatten().apply(x) as Sym) as Sym;
    return tf.model({ inputs: input, outputs: out });
  };
  const model = build(false),
    oracleModel = build(true);
  model.layers.forEach((l, i) => {
    const o = oracleModel.layers[i];
    if (l.name === 'dil' || l.name === 'causal') {
      const [w, b] = l.getWeights();
      const dil = l.name === 'dil' ? 2 : 2;
      const spreadW = tf.tidy(() => {
        if (l.name === 'dil') {
          const [kh, kw, ci, co] = w.shape;
          return tf
            .pad(w.reshape([kh, 1, kw, 1, ci, co]), [
              [0, 0],
              [0, dil - 1],
              [0, 0],
              [0, dil - 1],
              [0, 0],
              [0, 0],
            ])
            .reshape([kh * dil, kw * dil, ci, co])
            .slice([0, 0, 0, 0], [(kh - 1) * dil + 1, (kw - 1) * dil + 1, ci, co]);
        }
        const [k, ci, co] = w.shape;
        return tf
          .pad(w.reshape([k, 1, ci, co]), [
            [0, 0],
            [0, dil - 1],
            [0, 0],
            [0, 0],
          ])
          .reshape([k * dil, ci, co])
          .slice([0, 0, 0], [(k - 1) * dil + 1, ci, co]);
      });
      o.setWeights([spreadW, b]);
    } else if (l.getWeights().length) o.setWeights(l.getWeights());
  });
  const m = await save(model),
    oracle = await save(oracleModel);
  // the oracle's gradient rows at the dilated taps (torch order: [out, in, kh, kw] / [out, in, k])
  const pick = (name: string, g: Float32Array): Float32Array => {
    if (name !== 'dil' && name !== 'causal') return g;
    const l = m.prunable.find(p => p.name === name)!,
      lo = oracle.prunable.find(p => p.name === name)!;
    const ts = l.torchShape,
      to = lo.torchShape;
    const out = new Float32Array((g.length / lo.size) * l.size);
    const rows = g.length / lo.size;
    const taps = name === 'dil' ? ts[2] * ts[3] : ts[2];
    const big = name === 'dil' ? to[2] * to[3] : to[2];
    for (let r = 0; r < rows; r++)
      for (let oc = 0; oc < ts[0] * ts[1]; oc++)
        for (let t = 0; t < taps; t++) {
          const src = name === 'dil' ? Math.floor(t / ts[3]) * 2 * to[3] + (t % ts[3]) * 2 : t * 2;
          out[r * l.size + oc * taps + t] = g[r * lo.size + oc * big + src];
        }
    return out;
  };
  await compareWith(m, oracle, 'dilated/strided', 5, pick);
});

test("dilated Conv2D on the ONNX Runtime pass: its rows equal the TF.js pass's (checked against a zero-spread oracle above)", async t => {
  if (!ortLoads) return t.skip(`onnxruntime-node does not load here: ${onnxRuntimeUnavailable()}`);
  const conv = (o: object) => tf.layers.conv2d({ filters: 4, kernelSize: 3, ...o });
  const input = tf.input({ shape: [13, 11, 3] });
  let x = conv({ dilationRate: 2, padding: 'same', activation: 'relu' }).apply(input) as Sym;
  x = conv({ filters: 5, kernelSize: [3, 2], dilationRate: [2, 3], padding: 'valid', activation: 'relu' }).apply(x) as Sym;
  x = conv({ kernelSize: 1, dilationRate: 2 }).apply(x) as Sym;
  x = conv({ filters: 3, kernelSize: 2, strides: 2, padding: 'same' }).apply(x) as Sym;
  const m = await save(
    tf.model({ inputs: input, outputs: tf.layers.dense({ units: 4 }).apply(tf.layers.flatten().apply(x) as Sym) as Sym }),
  );
  const data = dataset(m, 5);
  const onnx = await perSampleGradients(m, m.prunable, data, { batchSize: 3 });
  const tfjs = await perSampleGradients(m, m.prunable, data, { pass: 'tfjs', batchSize: 3 });
  assert.match(onnx.pass, /^onnxruntime/);
  for (const l of m.prunable) {
    const e = relErr(onnx.grads.get(l.name)!, tfjs.grads.get(l.name)!);
    assert.ok(e <= 1e-5 && tfjs.grads.get(l.name)!.some(v => v !== 0), `${l.name}: ${e} (seed ${seed})`);
  }
  m.model.dispose();
});

test('a tensor given twice to one layer (Concatenate, Multiply, Maximum, Average, Add of [x, x]) gets the sum over its uses once, on both passes', async () => {
  // one merge a model: TF.js 4.22 itself cannot run a model where two such merges meet (it disposes a shared input)
  const merges: [string, (x: Sym, other: Sym) => Sym][] = [
    ['concatenate', x => tf.layers.concatenate().apply([x, x]) as Sym],
    ['multiply', x => tf.layers.multiply().apply([x, x]) as Sym],
    ['maximum', (x, other) => tf.layers.maximum().apply([x, other, x]) as Sym],
    ['average', x => tf.layers.average().apply([x, x]) as Sym],
    ['add', x => tf.layers.add().apply([x, x]) as Sym],
  ];
  for (const [name, merge] of merges) {
    const input = tf.input({ shape: [6] });
    const x = tf.layers.dense({ units: 4, activation: 'tanh' }).apply(input) as Sym;
    const y = merge(x, tf.layers.dense({ units: 4 }).apply(x) as Sym);
    await compare(tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3 }).apply(y) as Sym }), `${name} [x, x]`, 5);
  }

  // with convs, where the ONNX Runtime pass runs it
  const img = tf.input({ shape: [7, 6, 2] });
  const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(img) as Sym;
  const cat = tf.layers.concatenate().apply([c, tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(c) as Sym, c]) as Sym;
  const head = tf.layers.dense({ units: 4 }).apply(tf.layers.flatten().apply(cat)) as Sym;
  await compare(tf.model({ inputs: img, outputs: head }), 'conv [c, conv(c), c]', 5, true);
});

test('a zoo of other layers TF.js differentiates: pooling, dropout, reshape/permute, cropping, upsampling, multiply/add/maximum/average, PReLU, LayerNormalization, SeparableConv2D, TimeDistributed, LSTM', async () => {
  const input = tf.input({ shape: [10, 10, 2] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input) as Sym;
  x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as Sym;
  const a = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as Sym;
  const b = tf.layers
    .averagePooling2d({ poolSize: 2 })
    .apply(tf.layers.prelu({ alphaInitializer: tf.initializers.constant({ value: 0.1 }) }).apply(x) as Sym) as Sym;
  x = tf.layers.multiply().apply([a, b]) as Sym;
  x = tf.layers.add().apply([x, tf.layers.dropout({ rate: 0.5 }).apply(a) as Sym]) as Sym;
  x = tf.layers.maximum().apply([x, tf.layers.average().apply([a, b]) as Sym]) as Sym;
  x = tf.layers.separableConv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'elu' }).apply(x) as Sym;
  x = tf.layers.upSampling2d({ size: [2, 2] }).apply(x) as Sym;
  x = tf.layers
    .cropping2D({
      cropping: [
        [1, 2],
        [2, 1],
      ],
    })
    .apply(x) as Sym;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu6' }).apply(x) as Sym;
  x = tf.layers.permute({ dims: [2, 1, 3] }).apply(x) as Sym;
  x = tf.layers.layerNormalization().apply(x) as Sym;
  x = tf.layers.reshape({ targetShape: [4, 24] }).apply(x) as Sym;
  x = tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 5, activation: 'sigmoid' }) }).apply(x) as Sym;
  x = tf.layers.dense({ units: 6, activation: 'softplus' }).apply(x) as Sym; // Dense over time steps
  x = tf.layers.lstm({ units: 4 }).apply(x) as Sym;
  const g = tf.layers.globalMaxPooling2d({}).apply(a) as Sym;
  x = tf.layers.concatenate().apply([x, g]) as Sym;
  const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(x) as Sym;
  await compare(tf.model({ inputs: input, outputs: out }), 'zoo', 4);
});

test('a layer without a TF.js gradient is refused naming the layer, not with an internal error', async () => {
  class Quantize extends tf.layers.Layer {
    // sorts its input: TopK has no gradient in TF.js
    static className = 'WfTestQuantize';
    call(inputs: tf.Tensor | tf.Tensor[]) {
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        return tf.topk(x, x.shape[x.shape.length - 1]!).values;
      });
    }
  }
  tf.serialization.registerClass(Quantize);
  const s = tf.sequential();
  s.add(tf.layers.dense({ inputShape: [4], units: 5 }));
  s.add(new Quantize({}));
  s.add(tf.layers.dense({ units: 3 }));
  const m = await save(s);
  await assert.rejects(
    perSampleGradients(m, m.prunable, dataset(m, 3)),
    (e: unknown) =>
      e instanceof WoodFisherError && e.code === 'UNSUPPORTED_LAYER' && /WfTestQuantize/.test(e.message) && !/\n/.test(e.message),
  );
  void path;
});

test('a model the pass cannot walk (masks: Embedding mask_zero) falls back to tf.grads one sample at a time, and batched mode says why', async () => {
  const s = tf.sequential();
  s.add(tf.layers.embedding({ inputDim: 6, outputDim: 3, inputLength: 5, maskZero: true }));
  s.add(tf.layers.simpleRNN({ units: 4 }));
  s.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  const m = await save(s);
  const r = mulberry32(++seed);
  const data: Dataset = {
    x: Float32Array.from({ length: 4 * 5 }, () => Math.floor(r() * 6)),
    shape: [4, 5],
    count: 4,
    source: 'random',
    labels: Int32Array.from([0, 1, 2, 1]),
  };
  const auto = await perSampleGradients(m, m.prunable, data);
  const ref = await perSampleGradients(m, m.prunable, data, { mode: 'reference' });
  for (const l of m.prunable) assert.deepEqual(auto.grads.get(l.name), ref.grads.get(l.name));
  await assert.rejects(
    perSampleGradients(m, m.prunable, data, { mode: 'batched' }),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'UNSUPPORTED_LAYER' && /mask/.test(e.message),
  );
});

test("a layer group's rows (only, the backward pass stopping below the group) equal the whole pass's rows bit for bit; no tensors leak", async () => {
  const m = await save(buildMobileNetV2({ inputSize: 32, alpha: 0.35, classes: 7, stages: 4, lastChannels: 48, seed: 5 }));
  try {
    const data = dataset(m, 5);
    for (const pass of ['auto', 'tfjs'] as const) {
      const all = await perSampleGradients(m, m.prunable, data, { batchSize: 3, pass });
      const names = m.prunable.map(l => l.name);
      const before = tf.memory().numTensors;
      // the last layers (a short backward pass), a middle stretch across residual Adds, and the first conv alone
      for (const group of [names.slice(-3), names.slice(4, 10), names.slice(0, 1)]) {
        const part = await perSampleGradients(m, m.prunable, data, { batchSize: 3, only: new Set(group), pass });
        assert.deepEqual([...part.grads.keys()], group);
        for (const name of group) assert.deepEqual(part.grads.get(name), all.grads.get(name), `${pass}: ${name} (group ${group[0]}…)`);
        assert.deepEqual(part.labels, all.labels);
        assert.equal(part.meanLoss, all.meanLoss);
      }
      assert.equal(tf.memory().numTensors, before, `${pass}: no tensors leak when the backward pass stops early`);
    }
  } finally {
    m.model.dispose();
  }
});

test('conv → BatchNormalization → ReLU6 chains run as one fused conv (BatchNorm folded in): gradients still match tf.grads, with random statistics, bias, no scale or center, a depth multiplier', async () => {
  const bn = randomBatchNorm(1e-3);
  const input = tf.input({ shape: [12, 12, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: true }).apply(input) as Sym;
  x = bn().apply(x) as Sym;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as Sym;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: false }).apply(x) as Sym;
  x = bn({ scale: false }).apply(x) as Sym;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as Sym;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'valid', useBias: false }).apply(x) as Sym;
  x = bn({ center: false }).apply(x) as Sym;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as Sym;
  x = tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false }).apply(x) as Sym; // BatchNorm, then no ReLU6: not fused
  x = bn().apply(x) as Sym;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 5, activation: 'softmax' }).apply(x) as Sym });
  const m = await save(model);
  const steps = graphSteps(m.model, new Map(m.prunable.map(l => [l.name, l.kind])));
  const uses = new Map<number, number>();
  for (const s of steps) for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  assert.equal(fusions(steps, uses, m.model.outputs[0].id).size, 3, 'the three conv → BatchNorm → ReLU6 chains');
  // the oracle: tf.grads one sample at a time, with BatchNorm's missing γ/β made explicit (tfjs#2868)
  await compareWith(m, await save(await explicitAffine(model)), 'fused conv-bn-relu6', 4, undefined, true);
  m.model.dispose();
});

test("the ONNX Runtime pass's rules (onnxGraph.ts) against tf.grads: strided k×k and 1×1 convs (transposed-conv input gradients), folded and standalone BatchNormalization without scale, depth multiplier, ZeroPadding2D, ReLU and Activation layers, Flatten, Dropout, logits", async () => {
  const bn = randomBatchNorm();
  const input = tf.input({ shape: [13, 11, 3] });
  let x = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as Sym;
  x = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu6' }).apply(x) as Sym;
  x = tf.layers.conv2d({ filters: 6, kernelSize: [3, 2], strides: [2, 1], padding: 'valid', useBias: false }).apply(x) as Sym;
  x = bn().apply(x) as Sym; // folded into the conv
  x = tf.layers.reLU({}).apply(x) as Sym;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 1, strides: 2, padding: 'same' }).apply(x) as Sym;
  x = bn({ scale: false }).apply(x) as Sym;
  x = tf.layers.activation({ activation: 'relu' }).apply(x) as Sym;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu6' }).apply(x) as Sym;
  x = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 0],
        [0, 1],
      ],
    })
    .apply(x) as Sym;
  x = tf.layers.depthwiseConv2d({ kernelSize: 2, padding: 'valid' }).apply(x) as Sym;
  x = tf.layers.flatten().apply(x) as Sym;
  x = tf.layers.dropout({ rate: 0.3 }).apply(x) as Sym;
  x = tf.layers.dense({ units: 7, activation: 'relu', biasInitializer: 'ones' }).apply(x) as Sym; // a bias: seven dead units for all five samples would zero every gradient below
  x = bn({ center: false }).apply(x) as Sym; // standalone, on a 2-D tensor
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 5 }).apply(x) as Sym });
  const m = await save(model);
  await compareWith(m, await save(await explicitAffine(model)), 'onnx rules', 5, undefined, true);
  m.model.dispose();
});

test("the ONNX Runtime pass's pooling, Concatenate and Reshape rules against tf.grads: overlapping and padded max and average pools (ScatterElements; counts without the padding), global max pooling, concatenation of channels and of features, reshapes into and out of 4-D", async () => {
  const conv = (filters: number, kernelSize: number, o: object = {}) => tf.layers.conv2d({ filters, kernelSize, ...o });
  const input = tf.input({ shape: [64] });
  const x = conv(4, 3, { padding: 'same', activation: 'relu' }).apply(tf.layers.reshape({ targetShape: [8, 8, 1] }).apply(input)) as Sym;
  const cat = tf.layers
    .concatenate({ axis: 3 })
    .apply([
      tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as Sym,
      tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as Sym,
      conv(3, 1).apply(x) as Sym,
    ]) as Sym;
  const y = conv(6, 3, { padding: 'same', activation: 'relu' }).apply(cat) as Sym;
  const down = tf.layers.concatenate({ axis: -1 }).apply([
    tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(y) as Sym, // 3×3, windows overlap
    conv(5, 2).apply(tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(y)) as Sym, // 4×4 → 3×3
  ]) as Sym;
  const r = tf.layers.reshape({ targetShape: [99] }).apply(down) as Sym;
  const features = tf.layers.concatenate().apply([
    tf.layers.dense({ units: 6 }).apply(r) as Sym,
    tf.layers.dense({ units: 4 }).apply(r) as Sym,
    tf.layers.globalMaxPooling2d({}).apply(conv(2, 1).apply(cat)) as Sym, // over linear (negative) values
  ]) as Sym;
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 5, activation: 'softmax' }).apply(features) as Sym });
  const m = await compare(model, 'onnx pooling', 5, true);
  assert.deepEqual(
    m.prunable.map(l => l.kind),
    ['Conv2D', 'Conv2D', 'Conv2D', 'Conv2D', 'Conv2D', 'Dense', 'Dense', 'Dense'],
  );

  // a ZeroPadding2D as wide as the next average pool's window: ONNX Runtime would fold it into the pool and refuse it;
  // the TF.js pass runs instead, and says why
  const img = tf.input({ shape: [9, 7, 2] });
  const padded = tf.layers
    .zeroPadding2d({
      padding: [
        [2, 0],
        [0, 1],
      ],
    })
    .apply(conv(3, 3, { padding: 'same' }).apply(img)) as Sym;
  const pooled = tf.layers.averagePooling2d({ poolSize: [2, 3] }).apply(padded) as Sym;
  const folded = await save(
    tf.model({ inputs: img, outputs: tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(pooled)) as Sym }),
  );
  const g = await perSampleGradients(folded, folded.prunable, dataset(folded, 2));
  if (ortLoads)
    assert.match(g.pass, /^TF\.js wasm \(not onnxruntime: layer '.*' \(AveragePooling2D\) reads a ZeroPadding2D as wide as its window/);
});

test('sampled labels: the ONNX Runtime pass draws the same labels as the TF.js pass from the same seed; a model it cannot run falls back (and says why), or is refused when it is asked for', async t => {
  if (!ortLoads) return t.skip(`onnxruntime-node does not load here: ${onnxRuntimeUnavailable()}`);
  const m = await save(buildMobileNetV2({ inputSize: 32, alpha: 0.35, classes: 7, stages: 3, lastChannels: 32, seed: 6 }));
  const data = { ...dataset(m, 7), labels: undefined };
  const onnx = await perSampleGradients(m, m.prunable, data, { pass: 'onnxruntime', batchSize: 4, seed: 11 });
  const tfjs = await perSampleGradients(m, m.prunable, data, { pass: 'tfjs', batchSize: 4, seed: 11 });
  assert.equal(onnx.labelsSource, 'sampled');
  assert.deepEqual(onnx.labels, tfjs.labels);
  assert.ok(Math.abs(onnx.meanLoss - tfjs.meanLoss) <= 1e-5 * Math.max(1, tfjs.meanLoss));
  for (const l of m.prunable)
    assert.ok(
      relErr(onnx.grads.get(l.name)!, tfjs.grads.get(l.name)!) <= 1e-4,
      `${l.name}: ${relErr(onnx.grads.get(l.name)!, tfjs.grads.get(l.name)!)}`,
    );
  m.model.dispose();

  const s = tf.sequential();
  s.add(tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3 }));
  s.add(tf.layers.upSampling2d({ size: [2, 2] }));
  s.add(tf.layers.flatten());
  s.add(tf.layers.dense({ units: 3 }));
  const pooled = await save(s);
  const auto = await perSampleGradients(pooled, pooled.prunable, dataset(pooled, 3));
  assert.match(auto.pass, /^TF\.js wasm \(not onnxruntime: layer '.*' \(UpSampling2D\) has no rule in the ONNX pass\)$/);
  await assert.rejects(
    perSampleGradients(pooled, pooled.prunable, dataset(pooled, 3), { pass: 'onnxruntime' }),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'UNSUPPORTED_LAYER' && /UpSampling2D/.test(e.message),
  );
});

test('ONNX Runtime pass: a non-finite gradient raises NUMERIC naming the layer and the sample (rows summed in the graph), padding rows aside', async t => {
  if (!ortLoads) return t.skip(`onnxruntime-node does not load here: ${onnxRuntimeUnavailable()}`);
  const s = tf.sequential();
  s.add(tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3 }));
  s.add(tf.layers.flatten());
  s.add(tf.layers.dense({ units: 3 }));
  const m = await save(s);
  const data = dataset(m, 6);
  // 6 samples in batches of 4: the second batch is padded with two zero samples, whose rows are not the data's
  const clean = await perSampleGradients(m, m.prunable, data, { pass: 'onnxruntime', batchSize: 4 });
  assert.match(clean.pass, /^onnxruntime/);
  const x = data.x.slice();
  x[5 * 72 + 7] = NaN; // sample 5, in the padded batch
  await assert.rejects(
    perSampleGradients(m, m.prunable, { ...data, x }, { pass: 'onnxruntime', batchSize: 4 }),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'NUMERIC' && /layer '.*' is NaN \(sample 5\)/.test(e.message),
  );
  m.model.dispose();
});
