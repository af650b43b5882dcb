// Pooling gradients on the wasm and cpu backends (kernels/poolGrads.ts replaces the wrong TF.js ones) against a float64
// reference: the forward pass TF.js computes (checked), and the exact derivative of that forward (checked by central
// differences), on fresh random inputs with all-negative windows and 'same' padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../src/engine/backend';
import { mulberry32 } from '../../../src/engine/data/random';
import { relErr } from '../model/fixtures';

type Kind = 'max' | 'avg';
interface Case {
  kind: Kind;
  k: number;
  s: number;
  pad: 'valid' | 'same';
}
const seed = Math.floor(Math.random() * 1e9); // fresh inputs every run; printed on failure
const [B, H, W, C] = [2, 7, 8, 3];

/** Float64 pooling as TensorFlow defines it, with, per output, the taps (NHWC offsets) inside the input. */
function reference(x: Float64Array, { kind, k, s, pad }: Case) {
  const out = (n: number) => (pad === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1);
  const [OH, OW] = [out(H), out(W)];
  const before = (n: number, o: number) => (pad === 'same' ? Math.floor(Math.max((o - 1) * s + k - n, 0) / 2) : 0);
  const [top, left] = [before(H, OH), before(W, OW)];
  const y = new Float64Array(B * OH * OW * C);
  const pick: number[][] = []; // per output: the taps its value depends on (max: the first largest)
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let c = 0; c < C; c++) {
          const taps: number[] = [];
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const h = oh * s - top + i,
                w = ow * s - left + j;
              if (h >= 0 && h < H && w >= 0 && w < W) taps.push(((b * H + h) * W + w) * C + c);
            }
          const o = ((b * OH + oh) * OW + ow) * C + c;
          if (kind === 'avg') {
            y[o] = taps.reduce((a, t) => a + x[t], 0) / taps.length;
            pick[o] = taps;
          } else {
            const best = taps.reduce((a, t) => (x[t] > x[a] ? t : a), taps[0]);
            y[o] = x[best];
            pick[o] = [best];
          }
        }
  return { y, pick, shape: [B, OH, OW, C] };
}

/** ∂(Σ dy·y)/∂x of the reference forward. */
function referenceGrad(x: Float64Array, dy: Float64Array, c: Case): Float64Array {
  const { pick } = reference(x, c);
  const dx = new Float64Array(x.length);
  pick.forEach((taps, o) => taps.forEach(t => (dx[t] += dy[o] / taps.length)));
  return dx;
}

const cases: Case[] = [];
for (const kind of ['max', 'avg'] as const)
  for (const k of [1, 2, 3]) for (const s of [1, 2, 3]) for (const pad of ['valid', 'same'] as const) cases.push({ kind, k, s, pad });

test('the float64 reference gradient is the derivative of the reference forward (central differences)', () => {
  const r = mulberry32(seed);
  for (const c of cases.filter(c => c.k === 3 && c.s === 2)) {
    const x = Float64Array.from({ length: B * H * W * C }, () => r() * 4 - 2);
    const { shape } = reference(x, c);
    const dy = Float64Array.from({ length: shape.reduce((a, b) => a * b) }, () => r() * 2 - 1);
    const g = referenceGrad(x, dy, c);
    const f = (v: Float64Array) => reference(v, c).y.reduce((a, yi, i) => a + yi * dy[i], 0);
    for (let t = 0; t < x.length; t += 7) {
      const e = 1e-6;
      const p = x.slice(),
        m = x.slice();
      p[t] += e;
      m[t] -= e;
      assert.ok(Math.abs((f(p) - f(m)) / (2 * e) - g[t]) < 1e-6, `${JSON.stringify(c)} tap ${t} (seed ${seed})`);
    }
  }
});

for (const backend of ['wasm', 'cpu'] as const)
  test(`${backend}: max and average pooling gradients equal the reference's (all-negative windows, 'same' padding, strides 1–3, windows 1–3)`, async () => {
    await initBackend(backend);
    const r = mulberry32(seed ^ 0x9e3779b9);
    for (const c of cases) {
      for (const sign of [1, -1]) {
        // sign −1: every value negative (wasm's own MaxPoolGrad dropped these windows' δ)
        const x = Float64Array.from({ length: B * H * W * C }, () => sign * (sign < 0 ? r() + 0.1 : r() * 2 - 1));
        const { y, shape } = reference(x, c);
        const dy = Float64Array.from({ length: y.length }, () => r() * 2 - 1);
        const label = `${backend} ${JSON.stringify(c)} sign ${sign} (seed ${seed})`;
        const pool = (v: tf.Tensor) => (c.kind === 'max' ? tf.maxPool : tf.avgPool)(v as tf.Tensor4D, c.k, c.s, c.pad);
        const [fy, fdx] = tf.tidy(() => {
          const xt = tf.tensor4d(Float32Array.from(x), [B, H, W, C]);
          const dyt = tf.tensor(Float32Array.from(dy), shape);
          return [
            pool(xt).dataSync(),
            tf
              .grad(v => tf.sum(tf.mul(pool(v), dyt)))(xt)
              .dataSync(),
          ];
        });
        assert.deepEqual([fy.length, fdx.length], [y.length, x.length], label);
        assert.ok(relErr(fy, y) <= 1e-6, `${label}: forward ${relErr(fy, y)}`);
        const e = relErr(fdx, referenceGrad(x, dy, c));
        assert.ok(e <= 1e-6, `${label}: gradient relative error ${e.toExponential(2)}`);
      }
    }
  });
