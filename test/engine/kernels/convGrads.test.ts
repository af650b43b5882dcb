import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../src/engine/backend';

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

// Gradients of a weighted sum of the conv output w.r.t. x and the filter: exercises the backprop kernels.
function convGrads(
  kind: 'conv' | 'depthwise',
  x: number[],
  xShape: number[],
  w: number[],
  wShape: number[],
  r: number[],
  strides: number,
  pad: 'same' | 'valid',
  dil: number,
) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xShape as [number, number, number, number]);
    const wt = tf.tensor4d(w, wShape as [number, number, number, number]);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y =
        kind === 'conv'
          ? tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad, 'NHWC', dil)
          : tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad, 'NHWC', dil);
      return tf.sum(tf.mul(y, tf.tensor(r.slice(0, y.size), y.shape)));
    };
    const [gx, gw] = tf.grads(f)([xt, wt]);
    return [Array.from(gx.dataSync()), Array.from(gw.dataSync())];
  });
}

test('wasm conv backprop kernels match the cpu kernels (strides, same/valid padding)', async () => {
  let seed = 1;
  const rnd = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647 - 0.5;
  };
  const cases = [
    { kind: 'conv' as const, x: [2, 7, 6, 3], w: [3, 3, 3, 4], s: 1, p: 'same' as const, d: 1 },
    { kind: 'conv' as const, x: [2, 8, 7, 2], w: [3, 2, 2, 5], s: 2, p: 'same' as const, d: 1 },
    { kind: 'conv' as const, x: [1, 9, 9, 3], w: [3, 3, 3, 2], s: 2, p: 'valid' as const, d: 1 },
    { kind: 'conv' as const, x: [2, 6, 5, 16], w: [3, 3, 16, 3], s: 1, p: 'same' as const, d: 1 }, // wide: strided-slice patches
    { kind: 'conv' as const, x: [1, 7, 7, 20], w: [2, 2, 20, 2], s: 2, p: 'valid' as const, d: 1 },
    { kind: 'depthwise' as const, x: [2, 7, 6, 3], w: [3, 3, 3, 2], s: 1, p: 'same' as const, d: 1 },
    { kind: 'depthwise' as const, x: [2, 9, 8, 2], w: [3, 3, 2, 1], s: 2, p: 'same' as const, d: 1 },
    { kind: 'depthwise' as const, x: [1, 8, 8, 2], w: [2, 3, 2, 3], s: 2, p: 'valid' as const, d: 1 },
  ];
  for (const c of cases) {
    const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const x = Array.from({ length: n(c.x) }, rnd),
      w = Array.from({ length: n(c.w) }, rnd),
      r = Array.from({ length: 4000 }, rnd);
    await initBackend('cpu');
    const [rx, rw] = convGrads(c.kind, x, c.x, w, c.w, r, c.s, c.p, c.d);
    assert.equal(await initBackend('wasm'), 'wasm');
    const [gx, gw] = convGrads(c.kind, x, c.x, w, c.w, r, c.s, c.p, c.d);
    const label = JSON.stringify(c);
    assert.ok(relErr(gw, rw) < 1e-5, `filter grad ${label}: ${relErr(gw, rw)}`);
    assert.ok(relErr(gx, rx) < 1e-5, `input grad ${label}: ${relErr(gx, rx)}`);
  }
});

test('the wasm kernels neither leak tensors nor free their inputs', async () => {
  await initBackend('wasm');
  const x = tf.randomNormal([2, 6, 6, 3]) as tf.Tensor4D;
  const dy = tf.randomNormal([2, 6, 6, 4]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const dw = tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'), dy)))(tf.ones([3, 3, 3, 4])));
  assert.equal(tf.memory().numTensors, before + 1);
  dw.dispose();
  assert.equal(x.isDisposed, false);
  assert.ok(Number.isFinite(x.sum().dataSync()[0]), 'input still readable');
  tf.dispose([x, dy]);
});

test("input gradients from forward ops (conv2dInputGrad, depthwiseInputGrad) match the cpu backend's gradients; dilated ones pass the adjoint test", async () => {
  const { conv2dInputGrad, depthwiseInputGrad } = await import('../../../src/engine/kernels/convGrads');
  const { tapGeometry } = await import('../../../src/engine/kernels/patches');
  type S4 = [number, number, number, number];
  const cases: ['conv' | 'dw', S4, S4, number, 'same' | 'valid', number][] = [
    ['conv', [2, 7, 6, 3], [3, 3, 3, 4], 1, 'same', 1],
    ['conv', [2, 8, 7, 2], [3, 2, 2, 5], 2, 'same', 1],
    ['conv', [1, 9, 9, 3], [3, 3, 3, 2], 2, 'valid', 1],
    ['conv', [2, 5, 4, 6], [1, 1, 6, 3], 1, 'same', 1],
    ['conv', [2, 5, 4, 6], [1, 1, 6, 3], 2, 'valid', 1],
    ['conv', [1, 10, 10, 2], [4, 4, 2, 2], 3, 'same', 1],
    ['conv', [2, 9, 8, 3], [3, 3, 3, 2], 1, 'same', 2],
    ['conv', [2, 9, 8, 3], [3, 2, 3, 2], 1, 'valid', 3],
    ['dw', [2, 7, 6, 3], [3, 3, 3, 2], 1, 'same', 1],
    ['dw', [2, 9, 8, 2], [3, 3, 2, 1], 2, 'same', 1],
    ['dw', [1, 8, 8, 2], [2, 3, 2, 3], 2, 'valid', 1],
    ['dw', [2, 11, 10, 2], [3, 3, 2, 1], 2, 'valid', 1],
    ['dw', [1, 10, 9, 2], [3, 3, 2, 2], 1, 'same', 2],
  ];
  await initBackend('cpu');
  try {
    for (const [k, xs, ws, s, p, d] of cases) {
      const label = JSON.stringify([k, xs, ws, s, p, d]);
      tf.tidy(() => {
        const x = tf.randomNormal(xs) as tf.Tensor4D,
          w = tf.randomNormal(ws) as tf.Tensor4D;
        const f = (a: tf.Tensor) =>
          k === 'conv' ? tf.conv2d(a as tf.Tensor4D, w, s, p, 'NHWC', d) : tf.depthwiseConv2d(a as tf.Tensor4D, w, s, p, 'NHWC', d);
        const dy = tf.randomNormal(f(x).shape) as tf.Tensor4D;
        const g = tapGeometry(xs, ws[0], ws[1], s, d, p);
        const dx = k === 'conv' ? conv2dInputGrad(dy, w, g) : depthwiseInputGrad(dy, w, g);
        assert.deepEqual(dx.shape, xs, label);
        if (d === 1) {
          const e = relErr(dx.dataSync(), tf.grad(f)(x, dy).dataSync());
          assert.ok(e < 1e-5, `${label}: ${e}`);
        } else {
          // ⟨dx, e⟩ = ⟨dy, f(e)⟩ for random e (TF.js has no dilated conv gradient to compare with)
          for (let t = 0; t < 3; t++) {
            const e = tf.randomNormal(xs);
            const lhs = tf.sum(tf.mul(dx, e)).dataSync()[0],
              rhs = tf.sum(tf.mul(dy, f(e))).dataSync()[0];
            const scale = tf.sum(tf.abs(tf.mul(dy, f(e)))).dataSync()[0];
            assert.ok(Math.abs(lhs - rhs) <= 1e-5 * scale, `${label}: ${lhs} vs ${rhs}`);
          }
        }
      });
    }
  } finally {
    await initBackend('wasm');
  }
});
