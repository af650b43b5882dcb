// The bundled examples: data files, model files, recipes. Run: node --import tsx --test test/examples/examples.test.ts
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseNpy, toFloat32 } from '../../src/engine/data/npy';
import { loadRecipe } from '../../src/engine/recipe';

const E = path.resolve(__dirname, '../../examples');
const npy = (f: string) => parseNpy(new Uint8Array(fs.readFileSync(path.join(E, 'data', f))), f);

test('data files: float32 inputs in [0, 1], int64 class labels, fixed shapes', () => {
  for (const [x, y, n] of [['calib-x.npy', 'calib-y.npy', 1000], ['test-x.npy', 'test-y.npy', 2000]] as const) {
    const a = npy(x), b = npy(y);
    assert.equal(a.dtype, 'f4'); assert.deepEqual(a.shape, [n, 784]);
    assert.equal(b.dtype, 'i8'); assert.deepEqual(b.shape, [n]);
    assert.ok(a.data.every(v => v >= 0 && v <= 1));
    assert.deepEqual([...new Set(toFloat32(b))].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
});

for (const [name, layers, minAcc] of [['mlpnet', ['fc1', 'fc2', 'fc3'], 0.93], ['cnn', ['reshape', 'conv1', 'pool', 'flatten', 'fc'], 0.93]] as const) {
  test(`${name}: layers-model files reload and classify the test split`, async () => {
    await tf.setBackend('cpu');
    const j = JSON.parse(fs.readFileSync(path.join(E, name, 'model.json'), 'utf8'));
    assert.equal(j.format, 'layers-model');
    assert.deepEqual(j.weightsManifest.map((g: { paths: string[] }) => g.paths), [['weights.bin']]);
    const bin = fs.readFileSync(path.join(E, name, 'weights.bin'));
    const model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }));
    assert.deepEqual(model.layers.map(l => l.name), layers);
    const x = npy('test-x.npy'), y = toFloat32(npy('test-y.npy'));
    const pred = tf.tidy(() => (model.predict(tf.tensor2d(x.data as Float32Array, [2000, 784])) as tf.Tensor).argMax(-1));
    const p = await pred.data();
    pred.dispose(); model.dispose();
    let ok = 0;
    for (let i = 0; i < 2000; i++) if (p[i] === y[i]) ok++;
    const acc = ok / 2000;
    assert.ok(acc >= minAcc, `test accuracy ${acc}`);
  });

  test(`${name}: recipe loads and points at existing files`, async () => {
    const r = await loadRecipe(path.join(E, name, 'woodfisher.yaml'));
    const dir = path.join(E, name);
    const data = r.data as { inputs: string; labels: string };
    const ev = r.eval as { inputs: string; labels: string };
    for (const f of [r.model!, data.inputs, data.labels, ev.inputs, ev.labels]) assert.ok(fs.existsSync(path.resolve(dir, f)), f);
    assert.equal(r.method, 'woodfisher');
    assert.equal(r.damp, name === 'mlpnet' ? 1e-6 : 1e-5);
  });
}
