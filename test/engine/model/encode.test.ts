// Weight encodings: the converter's own codes, exact zeros, error bounds against float64, and round trips through
// TF.js's loader for every encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { tf, initBackend } from '../../../src/engine/backend';
import { quantizeAffine, toFloat16, encodeWeight, affineRange } from '../../../src/engine/model/encode';
import { loadModel, readKernel, writeKernel, saveModel } from '../../../src/engine/model/load';
import { quantizeForOutput } from '../../../src/engine/model/quantize';
import { claimOutput } from '../../../src/engine/output/claim';
import { mulberry32 } from '../../../src/engine/data/random';
import { WoodFisherError, type Encoding, type QuantizeMode } from '../../../src/engine/types';
import { quantizeFolder, loadWithTfjs } from '../../fixtures/converter';
import { tempDir, writeLayersModel } from './fixtures';

const REF = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../fixtures/quantization/reference.json'), 'utf8'));
const EX = path.resolve(__dirname, '../../../examples');

test("codes, scale and min are the converter's own (quantization.py run on the same values)", () => {
  let compared = 0;
  for (const c of REF.cases) {
    const w = Float32Array.from(c.values as number[]);
    for (const dt of ['uint8', 'uint16'] as const) {
      const a = quantizeAffine(w, dt);
      assert.deepEqual(Array.from(a.q), c[dt].codes, `${c.name} ${dt} codes`);
      assert.ok(
        a.range.scale === c[dt].scale && a.range.min === c[dt].min,
        `${c.name} ${dt}: scale ${a.range.scale} vs ${c[dt].scale}, min ${a.range.min} vs ${c[dt].min}`,
      );
      compared += w.length;
    }
    assert.deepEqual(Array.from(toFloat16(w).bits), c.float16.bits, `${c.name} float16 bits`);
  }
  assert.ok(compared > 8000);
});

test('affine quantization on fresh random weights: zeros decode to exactly 0, every error within half a step (float64 reference)', () => {
  const seed = Date.now() >>> 0,
    rand = mulberry32(seed);
  for (let trial = 0; trial < 60; trial++) {
    const n = 1 + Math.floor(rand() * 3000);
    const spread = 10 ** (rand() * 8 - 6),
      shift = (rand() - 0.5) * spread * (trial % 3);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = rand() < 0.6 ? 0 : shift + spread * (rand() - 0.5);
    for (const dt of ['uint8', 'uint16'] as const) {
      const { q, range, written } = quantizeAffine(w, dt);
      const qmax = dt === 'uint8' ? 255 : 65535;
      const top = qmax * range.scale + range.min;
      for (let i = 0; i < n; i++) {
        const exact = q[i] * range.scale + range.min; // float64 decode
        assert.equal(written[i], Math.fround(exact), 'written is what TF.js decodes (q·scale + min as float32)');
        if (w[i] === 0) assert.equal(written[i], 0, `seed ${seed} trial ${trial} ${dt}: a zero decoded to ${written[i]}`);
        const clipped = Math.min(Math.max(w[i], range.min), top);
        assert.ok(
          Math.abs(exact - clipped) <= range.scale * (0.5 + 1e-9),
          `seed ${seed} trial ${trial} ${dt}: error ${Math.abs(exact - clipped)} > scale/2 ${range.scale / 2}`,
        );
        // the nudge moves the range by at most half a step, so clipping costs at most that much too
        assert.ok(Math.abs(w[i] - clipped) <= range.scale * (0.5 + 1e-9));
      }
    }
  }
});

test('float16: round to nearest against a float64 reference, exact zeros, and a clear error beyond ±65504', () => {
  const seed = Date.now() >>> 0,
    rand = mulberry32(seed);
  const w = Float32Array.from({ length: 5000 }, (_, i) => (i % 4 === 0 ? 0 : (rand() - 0.5) * 10 ** (rand() * 8 - 4)));
  const { written } = toFloat16(w);
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) {
      assert.equal(written[i], 0);
      continue;
    }
    const a = Math.abs(w[i]);
    const ulp = a >= 2 ** -14 ? 2 ** (Math.floor(Math.log2(a)) - 10) : 2 ** -24; // spacing of halves near |w|
    assert.ok(Math.abs(written[i] - w[i]) <= (ulp / 2) * (1 + 1e-12), `seed ${seed}: ${w[i]} → ${written[i]}`);
  }
  const big = new Float32Array([1, 70000]);
  assert.throws(
    () => encodeWeight({ name: 'k', shape: [2], dtype: 'float32' }, big, 'float16'),
    (e: unknown) => e instanceof WoodFisherError && /beyond float16's range/.test(e.message),
  );
});

test('the nudged range keeps 0 on the grid also when the data are all on one side of it', () => {
  const r = affineRange(0, 3, 255);
  assert.equal(0 * r.scale + r.min, 0);
  const neg = affineRange(-3, 0, 255);
  assert.equal(255 * neg.scale + neg.min, 0);
});

/** A small functional model with the MobileNetV2 ingredients: BatchNorm, depthwise conv, residual Add. */
function blockModel(): tf.LayersModel {
  const x = tf.input({ shape: [8, 8, 4] });
  const seed = (s: number) => tf.initializers.glorotUniform({ seed: s });
  let y = tf.layers
    .conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'expand', kernelInitializer: seed(1) })
    .apply(x) as tf.SymbolicTensor;
  y = tf.layers
    .batchNormalization({
      name: 'expand_BN',
      gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 2 }),
      betaInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: 3 }),
    })
    .apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ maxValue: 6 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw', depthwiseInitializer: seed(4) })
    .apply(y) as tf.SymbolicTensor;
  y = tf.layers
    .conv2d({ filters: 4, kernelSize: 1, useBias: false, name: 'project', kernelInitializer: seed(5) })
    .apply(y) as tf.SymbolicTensor;
  y = tf.layers.add().apply([x, y]) as tf.SymbolicTensor;
  y = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 3, activation: 'softmax', name: 'head', kernelInitializer: seed(6) }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y });
}

test('every encoding round-trips through tf.loadLayersModel: weights bit for bit as encoded, same predictions, zeros exact', async () => {
  await initBackend('cpu');
  const root = tempDir();
  const src = await writeLayersModel(blockModel(), path.join(root, 'in'));
  for (const mode of ['none', 'float16', 'uint16', 'uint8', 'keep'] as QuantizeMode[]) {
    const m = await loadModel(src);
    for (const l of m.prunable)
      writeKernel(
        m,
        l,
        readKernel(m, l).map((v, i) => (i % 3 === 0 ? 0 : v)),
      ); // a third pruned
    const zeros = m.prunable.reduce((a, l) => a + readKernel(m, l).filter(v => v === 0).length, 0);
    const encoded = await quantizeForOutput(m, mode);
    const out = path.join(root, `out-${mode}`);
    const claim = claimOutput(out, { kind: 'test', inputFolder: path.dirname(src) });
    try {
      await saveModel(m, claim, {}, encoded);
    } finally {
      claim.release();
    }
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    const want: Encoding = mode === 'keep' || mode === 'none' ? 'float32' : mode;
    for (const spec of json.weightsManifest[0].weights) assert.equal(spec.quantization?.dtype ?? 'float32', want, `${mode}: ${spec.name}`);
    const back = await loadWithTfjs(path.join(out, 'model.json'));
    const byName = new Map(encoded.weights.map(e => [e.name, e]));
    let backZeros = 0;
    for (const w of back.weights) {
      const v = w.read().dataSync() as Float32Array;
      assert.deepEqual(Array.from(v), Array.from(byName.get(w.originalName)!.written!), `${mode}: ${w.originalName} as encoded`);
      if (m.prunable.some(l => l.weightName === w.originalName)) backZeros += v.filter(x => x === 0).length;
    }
    assert.ok(backZeros >= zeros, `${mode}: ${backZeros} zeros loaded, ${zeros} pruned`);
    const x = tf.randomNormal([4, 8, 8, 4], 0, 1, 'float32', 7);
    assert.deepEqual(
      Array.from((back.predict(x) as tf.Tensor).dataSync()),
      Array.from((m.model.predict(x) as tf.Tensor).dataSync()),
      `${mode}: the model in memory holds the written weights`,
    );
    back.dispose();
    m.model.dispose();
  }
});

test('keep: a converter-quantized input is written back in its own encodings, byte for byte where nothing changed', async () => {
  await initBackend('cpu');
  const root = tempDir();
  for (const dt of ['uint8', 'uint16', 'float16'] as const) {
    const src = quantizeFolder(path.join(EX, 'cnn/model.json'), path.join(root, `in-${dt}`), dt);
    const m = await loadModel(src);
    const same = await quantizeForOutput(m, 'keep');
    assert.ok(
      same.weights.every(e => e.verbatim && e.encoding === dt),
      `${dt}: unchanged weights reuse the input's bytes`,
    );
    assert.deepEqual(Buffer.concat(same.shards.map(s => s.bytes)), fs.readFileSync(path.join(root, `in-${dt}`, 'group1-shard1of1.bin')));
    const fc = m.prunable.find(l => l.name === 'fc')!;
    writeKernel(
      m,
      fc,
      readKernel(m, fc).map((v, i) => (i % 2 ? 0 : v * 1.01)),
    );
    const changed = await quantizeForOutput(m, 'keep');
    for (const e of changed.weights) {
      assert.equal(e.encoding, dt);
      assert.equal(e.verbatim, e.name !== 'fc/kernel', e.name);
    }
    const k = changed.weights.find(e => e.name === 'fc/kernel')!;
    const torch = readKernel(m, fc); // the model now holds the written values
    assert.equal(torch.filter((v, i) => i % 2 === 1 && v !== 0).length, 0, `${dt}: pruned weights decode to exactly 0`);
    assert.ok(k.relError > 0 && k.relError < (dt === 'uint8' ? 0.02 : 1e-3), `${dt}: re-quantization error ${k.relError}`);
    m.model.dispose();
  }
});
