// The memory plan's training step: TF.js's peak measured on batches of 1 and 2 and extrapolated, without side effects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, tf } from '../../../src/engine/backend';
import { trainingStepBytes } from '../../../src/engine/gradual/train';
import { crossEntropy } from '../../../src/engine/gradients/loss';
import { loadModel } from '../../../src/engine/model/load';
import { buildMobileNetV2, saveModelFolder } from '../../fixtures/mobilenetv2';

test('trainingStepBytes: within 10% of the measured peak at the full batch; weights and BatchNorm statistics unchanged', async () => {
  await initBackend('wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-train-bytes-'));
  const net = buildMobileNetV2({ inputSize: 16, alpha: 0.35, stages: 2, classes: 4, seed: 3 });
  const m = await loadModel(await saveModelFolder(net, path.join(dir, 'model')));
  net.dispose();
  const rowShape = m.model.inputs[0].shape.slice(1) as number[];
  const before = m.model.weights.map(w => Array.from(w.read().dataSync()));
  const batch = 24;
  const planned = await trainingStepBytes(m, rowShape, batch);
  assert.deepEqual(
    m.model.weights.map(w => Array.from(w.read().dataSync())),
    before,
    'no weight and no moving statistic changed',
  );
  const variables = m.model.trainableWeights.map(w => w.read() as tf.Variable);
  const stats = m.model.nonTrainableWeights.map(w => tf.keep(w.read().clone()));
  const measured =
    -tf.memory().numBytes +
    (
      await tf.profile(() => {
        const xs = tf.randomNormal([batch, ...rowShape]);
        const ys = tf.zeros([batch], 'int32') as tf.Tensor1D;
        const { value, grads } = tf.variableGrads(() => {
          const out = m.model.apply(xs, { training: true }) as tf.Tensor;
          return tf.mean(crossEntropy(out.reshape([batch, -1]), ys, m.outputIsProbability)) as tf.Scalar;
        }, variables);
        tf.dispose([xs, ys, value, ...Object.values(grads)]);
      })
    ).peakBytes;
  m.model.nonTrainableWeights.forEach((w, i) => w.write(stats[i]));
  tf.dispose(stats);
  assert.ok(Math.abs(planned - measured) / measured < 0.1, `planned ${planned} B, measured ${measured} B at batch ${batch}`);
  m.model.dispose();
});
