import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, wasmDir } from '../../src/engine/backend';
import { WoodFisherError } from '../../src/engine/types';

let hasNode = false;
try {
  require.resolve('@tensorflow/tfjs-node');
  hasNode = true;
} catch {
  /* optional dependency absent */
}

test('auto picks the fastest backend that loads and is idempotent', async () => {
  const b = await initBackend('auto');
  assert.equal(b, hasNode ? 'tensorflow' : 'wasm');
  assert.equal(tf.getBackend(), b);
  assert.equal(await initBackend('auto'), b);
  assert.ok(wasmDir(), 'wasm binaries located');
  const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
  assert.equal(y, 11);
});

test('forcing a backend switches to it; forcing an unavailable one names what is missing', async () => {
  assert.equal(await initBackend('cpu'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(await initBackend('wasm'), 'wasm');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'wasm conv backprop kernel registered');
  if (!hasNode) {
    await assert.rejects(
      initBackend('tensorflow'),
      (e: unknown) => e instanceof WoodFisherError && e.code === 'BACKEND' && /@tensorflow\/tfjs-node/.test(e.message),
    );
    assert.equal(tf.getBackend(), 'wasm', 'a failed request leaves the running backend alone');
  }
});
