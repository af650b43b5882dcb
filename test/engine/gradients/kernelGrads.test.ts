// Depthwise per-sample sums: the JS loop against a float64 reference written from the definition, and the OpenBLAS
// addon's loop against the JS loop, bit for bit, on fresh random inputs and every kind of geometry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { depthwiseSums, depthwiseSumsJs } from '../../../src/engine/gradients/kernelGrads';
import { nativeDepthwiseSums, openBlasUnavailable } from '../../../src/engine/linalg/accel';
import { tapGeometry, type TapGeometry } from '../../../src/engine/kernels/patches';
import { freshSeed, relErr, rng } from '../linalg/reference';

/** [batch, H, W, C], kernel, M, strides, dilations, padding */
const CASES: [number[], number, number, number, number, 'same' | 'valid'][] = [
  [[2, 9, 9, 5], 3, 1, 1, 1, 'same'],
  [[3, 11, 10, 7], 3, 1, 2, 1, 'same'],
  [[2, 12, 12, 4], 3, 2, 1, 1, 'valid'],
  [[1, 13, 9, 6], 5, 1, 1, 2, 'same'],
  [[2, 8, 8, 3], 3, 3, 2, 1, 'valid'],
  [[4, 6, 7, 33], 3, 1, 2, 1, 'same'], // channels past a vector's width, odd
];

function inputs(seed: number, xShape: number[], k: number, M: number, s: number, dil: number, pad: 'same' | 'valid') {
  const r = rng(seed);
  const g = tapGeometry(xShape, k, k, s, dil, pad);
  const C = xShape[3];
  const x = Float32Array.from({ length: xShape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
  const delta = Float32Array.from({ length: g.batch * g.outH * g.outW * C * M }, () => r() * 2 - 1);
  return { g, x, delta, shape: [k, k, C, M] };
}

/** acc[b, tap, c·M + m] = Σ_(oh, ow) x[b, h, w, c] · δ[b, oh, ow, c·M + m], straight from the definition in float64. */
function reference(shape: number[], x: Float32Array, delta: Float32Array, g: TapGeometry): Float64Array {
  const [kh, kw, C, M] = shape;
  const out = new Float64Array(g.batch * kh * kw * C * M);
  for (let b = 0; b < g.batch; b++)
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++)
        for (let c = 0; c < C; c++)
          for (let m = 0; m < M; m++) {
            let s = 0;
            for (let oh = 0; oh < g.outH; oh++)
              for (let ow = 0; ow < g.outW; ow++) {
                const h = oh * g.sh + i * g.dh - g.top,
                  w = ow * g.sw + j * g.dw - g.left;
                if (h >= 0 && h < g.inH && w >= 0 && w < g.inW)
                  s += x[((b * g.inH + h) * g.inW + w) * C + c] * delta[((b * g.outH + oh) * g.outW + ow) * C * M + c * M + m];
              }
            out[(((b * kh + i) * kw + j) * C + c) * M + m] = s;
          }
  return out;
}

test('depthwise sums in JS equal the definition (float64), for strides, dilations, padding and channel multipliers', () => {
  const seed = freshSeed();
  for (const [xs, k, M, s, dil, pad] of CASES) {
    const { g, x, delta, shape } = inputs(seed, xs, k, M, s, dil, pad);
    const got = depthwiseSumsJs(shape, x, delta, g).slice(); // the pool's buffer: copied before the next case
    assert.ok(relErr(got, reference(shape, x, delta, g)) < 1e-13, `${xs} k${k} M${M} s${s} d${dil} ${pad} seed ${seed}`);
  }
});

test(
  'depthwise sums on the OpenBLAS addon are the JS loop bit for bit, and bad arguments are refused',
  { skip: openBlasUnavailable() },
  () => {
    const seed = freshSeed(),
      native = nativeDepthwiseSums()!;
    for (const [xs, k, M, s, dil, pad] of CASES) {
      const { g, x, delta, shape } = inputs(seed, xs, k, M, s, dil, pad);
      const js = depthwiseSumsJs(shape, x, delta, g).slice();
      assert.deepEqual(depthwiseSums(shape, x, delta, g, native).slice(), js, `${xs} k${k} M${M} s${s} d${dil} ${pad} seed ${seed}`);
    }
    const { g, x, delta } = inputs(seed, [2, 9, 9, 5], 3, 1, 1, 1, 'same');
    const geometry = [g.batch, g.inH, g.inW, 5, 1, 3, 3, g.sh, g.sw, g.dh, g.dw, g.top, g.left, g.outH, g.outW];
    const acc = new Float64Array(2 * 9 * 5);
    assert.throws(() => native(x.subarray(1), delta, Float64Array.from(geometry), acc), RangeError, 'x too short');
    assert.throws(() => native(x, delta.subarray(1), Float64Array.from(geometry), acc), RangeError, 'δ too short');
    assert.throws(() => native(x, delta, Float64Array.from(geometry), acc.subarray(1)), RangeError, 'acc too short');
    assert.throws(() => native(x, delta, Float64Array.from(geometry.slice(1)), acc), RangeError, '14 numbers');
    assert.throws(() => native(x, delta, Float64Array.from(geometry.map((v, i) => (i === 7 ? 0 : v))), acc), RangeError, 'stride 0');
    assert.throws(() => native(x, delta, Float64Array.from(geometry.map((v, i) => (i === 0 ? 2.5 : v))), acc), RangeError, 'batch 2.5');
    assert.throws(() => native(x, delta, Float64Array.from(geometry.map((v, i) => (i === 11 ? -1 : v))), acc), RangeError, 'pad −1');
    assert.throws(
      () => native(Float64Array.from(x) as unknown as Float32Array, delta, Float64Array.from(geometry), acc),
      RangeError,
      'x float64',
    );
  },
);
