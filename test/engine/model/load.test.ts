import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { initBackend, tf } from '../../../src/engine/backend';
import { loadModel, readKernel, writeKernel, saveModel } from '../../../src/engine/model/load';
import { claimOutput } from '../../../src/engine/output/claim';
import { toTorch } from '../../../src/engine/model/layout';
import { WoodFisherError } from '../../../src/engine/types';
import { tempDir, writeLayersModel, tfLoad, mlp, relErr } from './fixtures';

before(async () => {
  await initBackend('wasm');
});

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof WoodFisherError && e.code === c && (!re || re.test(e.message));

function cnn(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 2] });
  let x = tf.layers
    .conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: 'dw' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

test('loads Sequential and functional models: prunable kernels, shapes, classes, softmax flag, same predictions', async () => {
  const seq = mlp([6, 5, 3]);
  const f1 = await writeLayersModel(seq, tempDir());
  const m1 = await loadModel(f1);
  assert.deepEqual(
    m1.prunable.map(p => [p.kind, p.shape, p.torchShape, p.size]),
    [
      ['Dense', [6, 5], [5, 6], 30],
      ['Dense', [5, 3], [3, 5], 15],
    ],
  );
  assert.deepEqual(m1.inputShape, [6]);
  assert.equal(m1.numClasses, 3);
  assert.equal(m1.outputIsProbability, true);
  const x = tf.randomNormal([4, 6]);
  assert.ok(relErr((m1.model.predict(x) as tf.Tensor).dataSync(), (seq.predict(x) as tf.Tensor).dataSync()) < 1e-6);

  const f2 = await writeLayersModel(cnn(), tempDir());
  const m2 = await loadModel(f2);
  assert.deepEqual(
    m2.prunable.map(p => [p.name, p.kind, p.torchShape]),
    [
      ['c1', 'Conv2D', [3, 2, 3, 3]],
      ['dw', 'DepthwiseConv2D', [6, 1, 3, 3]],
      ['logits', 'Dense', [4, 54]],
    ],
  );
  assert.deepEqual(m2.inputShape, [8, 8, 2]);
  assert.equal(m2.outputIsProbability, false);
});

test('readKernel returns torch order; writeKernel changes the kernel and keeps the bias', async () => {
  const m = await loadModel(await writeLayersModel(mlp([4, 3, 2]), tempDir()));
  const layer = m.prunable[0];
  const tfVals = m.model.getLayer(layer.name).getWeights()[0].dataSync();
  const k = readKernel(m, layer);
  assert.deepEqual(Array.from(k), Array.from(toTorch('Dense', [4, 3], tfVals)));
  const biasBefore = Array.from(m.model.getLayer(layer.name).getWeights()[1].dataSync());
  const z = Float64Array.from(k, (v, i) => (i % 2 ? 0 : v * 2));
  writeKernel(m, layer, z);
  assert.ok(relErr(readKernel(m, layer), z) < 1e-7);
  assert.deepEqual(Array.from(m.model.getLayer(layer.name).getWeights()[1].dataSync()), biasBefore);
});

test('saveModel writes a reloadable folder atomically, leaves the input alone and refuses dangerous targets', async () => {
  const root = tempDir();
  const src = await writeLayersModel(cnn(), path.join(root, 'in'));
  const before = fs.readdirSync(path.dirname(src)).map(f => fs.readFileSync(path.join(path.dirname(src), f)).toString('base64'));
  const m = await loadModel(src);
  const l = m.prunable[0];
  writeKernel(
    m,
    l,
    readKernel(m, l).map((v, i) => (i < 10 ? 0 : v)),
  );
  const out = path.join(root, 'out');
  const save = async (dir: string, extra?: Record<string, string>) => {
    const claim = claimOutput(dir, { kind: 'test', inputFolder: path.dirname(src) });
    try {
      return await saveModel(m, claim, extra);
    } finally {
      claim.release();
    }
  };
  const saved = await save(out, { 'report.json': '{"ok":true}' });
  assert.equal(saved, path.join(fs.realpathSync(root), 'out', 'model.json'));
  assert.equal(fs.readFileSync(path.join(out, 'report.json'), 'utf8'), '{"ok":true}');
  const back = await tfLoad(saved);
  const x = tf.randomNormal([3, 8, 8, 2]);
  assert.ok(relErr((back.predict(x) as tf.Tensor).dataSync(), (m.model.predict(x) as tf.Tensor).dataSync()) < 1e-6);
  const m2 = await loadModel(saved);
  assert.deepEqual(Array.from(readKernel(m2, m2.prunable[0]).slice(0, 10)), new Array(10).fill(0));
  // Replacing a previous output is fine; nothing temporary is left behind, not even a killed run's temp folder.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  fs.mkdirSync(path.join(root, `.out.tmp-${dead}-abc-def`));
  await save(out);
  assert.deepEqual(fs.readdirSync(root).sort(), ['in', 'out']);
  assert.ok(!fs.existsSync(path.join(out, 'report.json')), 'the previous output was replaced, not merged');
  await assert.rejects(save(path.dirname(src)), code('OUTPUT', /input model/));
  await assert.rejects(save(root), code('OUTPUT', /contains the input/));
  fs.mkdirSync(path.join(root, 'docs'));
  fs.writeFileSync(path.join(root, 'docs', 'a.txt'), 'keep');
  await assert.rejects(save(path.join(root, 'docs')), code('OUTPUT', /not written by WoodFisher/));
  assert.equal(fs.readFileSync(path.join(root, 'docs', 'a.txt'), 'utf8'), 'keep');
  const after = fs.readdirSync(path.dirname(src)).map(f => fs.readFileSync(path.join(path.dirname(src), f)).toString('base64'));
  assert.deepEqual(after, before, 'input files unchanged');
});

test('loadModel rejects escaping paths, bad shards, graph models, NaN weights and unknown layers', async () => {
  const dir = tempDir();
  const file = await writeLayersModel(mlp([3, 2]), dir);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const variant = (mut: (j: any) => void) => {
    const j = structuredClone(json);
    mut(j);
    const d = tempDir();
    fs.copyFileSync(path.join(dir, 'weights.bin'), path.join(d, 'weights.bin'));
    fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(j));
    return path.join(d, 'model.json');
  };
  await assert.rejects(
    loadModel(
      variant(j => {
        j.weightsManifest[0].paths = ['../weights.bin'];
      }),
    ),
    code('MODEL_PATH', /\.\./),
  );
  await assert.rejects(
    loadModel(
      variant(j => {
        j.weightsManifest[0].paths = ['/etc/passwd'];
      }),
    ),
    code('MODEL_PATH', /absolute/),
  );
  await assert.rejects(
    loadModel(
      variant(j => {
        j.weightsManifest[0].paths = ['https://example.com/w.bin'];
      }),
    ),
    code('MODEL_PATH', /URL/),
  );
  await assert.rejects(
    loadModel(
      variant(j => {
        j.weightsManifest[0].paths = ['nope.bin'];
      }),
    ),
    code('MODEL_SHARD', /nope\.bin.*missing/),
  );
  const trunc = variant(() => {});
  fs.writeFileSync(path.join(path.dirname(trunc), 'weights.bin'), fs.readFileSync(path.join(dir, 'weights.bin')).subarray(0, 10));
  await assert.rejects(loadModel(trunc), code('MODEL_SHARD', /weights\.bin.*truncated.*expected 32 bytes.*found 10/));
  await assert.rejects(
    loadModel(
      variant(j => {
        j.format = 'graph-model';
        j.modelTopology = { node: [] };
      }),
    ),
    code('MODEL_FORMAT', /graph-model/),
  );
  await assert.rejects(
    loadModel(
      variant(j => {
        j.modelTopology.config.layers[0].class_name = 'FancyLayer';
      }),
    ),
    code('UNSUPPORTED_LAYER', /FancyLayer/),
  );
  const nan = variant(() => {});
  const w = new Float32Array(new Uint8Array(fs.readFileSync(path.join(dir, 'weights.bin'))).buffer);
  w[2] = NaN;
  fs.writeFileSync(path.join(path.dirname(nan), 'weights.bin'), new Uint8Array(w.buffer));
  await assert.rejects(loadModel(nan), code('MODEL_NAN', /kernel.*NaN/));
});
