// Keras 3 topologies as the current converter writes them (tensorflow/tfjs#8328, #8494: `batch_shape`, DTypePolicy
// objects, module/registered_name wrappers, {args, kwargs} inbound nodes) load and give the same model.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, tf } from '../../../src/engine/backend';
import { loadModel } from '../../../src/engine/model/load';
import { keras2Topology } from '../../../src/engine/model/keras3';
import { perSampleGradients } from '../../../src/engine/gradients/perSample';
import { WoodFisherError } from '../../../src/engine/types';
import { tempDir, writeLayersModel, mlp } from './fixtures';
import { buildMobileNetV2, randomImages } from '../../fixtures/mobilenetv2';

before(async () => {
  await initBackend('wasm');
});

const tensor = (h: unknown[]) => ({
  class_name: '__keras_tensor__',
  config: { shape: null, dtype: 'float32', keras_history: h.slice(0, 3) },
});
const policy = (name: string) => ({ module: 'keras', class_name: 'DTypePolicy', config: { name }, registered_name: null });

/** Rewrites a TF.js (Keras 2) topology the way Keras 3 + tensorflowjs_converter write it. */
function toKeras3(topology: any): any {
  // TF.js saves {class_name, config, …}; the converter writes {keras_version, backend, model_config: {class_name, config}}
  const mc = structuredClone({ class_name: topology.class_name, config: topology.config });
  const t = { keras_version: '3.4.1', backend: 'tensorflow', model_config: mc };
  if (mc.class_name === 'Model') mc.class_name = 'Functional';
  const wrap = (o: any): void => {
    if (!o || typeof o !== 'object') return;
    if (Array.isArray(o)) {
      o.forEach(wrap);
      return;
    }
    for (const v of Object.values(o)) wrap(v);
    if ('class_name' in o && 'config' in o && !('inbound_nodes' in o)) {
      o.module = 'keras.initializers';
      o.registered_name = null;
    }
  };
  const layers = Array.isArray(mc.config) ? mc.config : mc.config.layers;
  if (Array.isArray(mc.config)) {
    // TF.js writes a Sequential's config as the list; Keras 3 as {name, layers} with an InputLayer first
    const first = layers[0].config;
    mc.config = {
      name: 'sequential',
      trainable: true,
      layers: [
        {
          class_name: 'InputLayer',
          config: { batch_shape: first.batch_input_shape, dtype: 'float32', sparse: false, name: 'input_layer' },
        },
        ...layers,
      ],
    };
    delete first.batch_input_shape;
  }
  for (const l of mc.config.layers as any[]) {
    wrap(l.config);
    l.module = 'keras.layers';
    l.registered_name = null;
    l.build_config = { input_shape: null };
    l.config.dtype = policy(l.config.dtype ?? 'float32');
    if (l.class_name === 'InputLayer' && l.config.batch_input_shape) {
      l.config.batch_shape = l.config.batch_input_shape;
      delete l.config.batch_input_shape;
      l.config.dtype = 'float32';
    }
    if (Array.isArray(l.inbound_nodes)) {
      l.inbound_nodes = l.inbound_nodes.map((node: unknown[][]) => ({
        args: node.length === 1 ? [tensor(node[0])] : [node.map(tensor)],
        kwargs: (node[0][3] as object) ?? {},
      }));
    }
  }
  return t;
}

async function artifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async a => {
      art = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return art!;
}

function writeJson(dir: string, topology: unknown, art: tf.io.ModelArtifacts): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(art.weightData!)));
  fs.writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({
      format: 'layers-model',
      generatedBy: 'keras v3.4.1',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: topology,
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: art.weightSpecs }],
    }),
  );
  return path.join(dir, 'model.json');
}

test('a Keras 3 functional MobileNetV2-shaped model and a Keras 3 Sequential load, predict as the original and give gradients', async () => {
  const dir = tempDir();
  const original = buildMobileNetV2({ inputSize: 32, alpha: 0.35, classes: 5, stages: 3, lastChannels: 32, seed: 8 });
  const art = await artifacts(original);
  const k3 = toKeras3(art.modelTopology);
  const text = JSON.stringify(k3);
  for (const marker of ['batch_shape', 'DTypePolicy', 'registered_name', '__keras_tensor__', 'Functional'])
    assert.ok(text.includes(marker), marker);
  // TF.js alone cannot read it (the reason this rewrite exists)
  await assert.rejects(
    tf.loadLayersModel(tf.io.fromMemory({ modelTopology: k3, weightSpecs: art.weightSpecs, weightData: art.weightData })),
  );
  const m = await loadModel(writeJson(path.join(dir, 'mnv2'), k3, art));
  const x = tf.tensor(randomImages(3, 32, 2), [3, 32, 32, 3]);
  const a = (original.predict(x) as tf.Tensor).dataSync(),
    b = (m.model.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual(Array.from(b), Array.from(a));
  assert.equal(m.prunable.length, original.layers.filter(l => ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(l.getClassName())).length);
  const g = await perSampleGradients(m, m.prunable, {
    x: randomImages(2, 32, 3),
    shape: [2, 32, 32, 3],
    count: 2,
    source: 'random',
    labels: Int32Array.from([1, 4]),
  });
  assert.ok(g.grads.get(m.prunable[0].name)!.some(v => v !== 0));

  const seq = mlp([4, 6, 3]);
  const sArt = await artifacts(seq);
  const s = await loadModel(writeJson(path.join(dir, 'seq'), toKeras3(sArt.modelTopology), sArt));
  const xs = tf.tensor2d([[0.1, -0.2, 0.3, 0.5]]);
  assert.deepEqual(Array.from((s.model.predict(xs) as tf.Tensor).dataSync()), Array.from((seq.predict(xs) as tf.Tensor).dataSync()));
  assert.deepEqual(s.inputShape, [4]);
  // a Keras 2 topology passes through untouched
  assert.deepEqual(keras2Topology(sArt.modelTopology).rewritten, []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Keras 3 settings TF.js would silently ignore are refused with the reason', async () => {
  const art = await artifacts(mlp([4, 5, 3]));
  const base = toKeras3(art.modelTopology);
  const dense = () => structuredClone(base);
  const cases: [string, (t: any) => void, RegExp][] = [
    [
      'mixed precision',
      t => {
        t.model_config.config.layers[1].config.dtype = policy('mixed_float16');
      },
      /mixed_float16/,
    ],
    [
      'grouped conv',
      t => {
        t.model_config.config.layers[1].config.groups = 2;
      },
      /grouped/,
    ],
    [
      'LoRA',
      t => {
        t.model_config.config.layers[1].config.lora_rank = 4;
      },
      /LoRA/,
    ],
  ];
  for (const [label, edit, why] of cases) {
    const t = dense();
    edit(t);
    const dir = tempDir();
    await assert.rejects(
      loadModel(writeJson(dir, t, art)),
      (e: unknown) =>
        e instanceof WoodFisherError && e.code === 'UNSUPPORTED_LAYER' && why.test(e.message) && /model\.json/.test(e.message),
      label,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  }
  void writeLayersModel;
});
