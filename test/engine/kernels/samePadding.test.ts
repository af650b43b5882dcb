// wasm's 'same' convolutions against a float64 reference from the definition (TensorFlow's padding), on fresh random
// inputs — including the shapes where a dimension's kernel ends before the input ((out − 1)·s + k < in), which wasm got
// wrong before register.ts gave those calls explicit padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../src/engine/backend';
import { explicitSamePadding } from '../../../src/engine/kernels/register';
import { mulberry32 } from '../../../src/engine/data/random';
import { relErr } from '../model/fixtures';

const seed = Math.floor(Math.random() * 1e9); // printed on failure

/** y[b, o_h, o_w, c_out] = Σ x[b, o·s − pad + i·d, …, c_in] · w[i, j, c_in, c_out] (depthwise: c_out = c_in·M + m). */
function reference(x: Float64Array, xs: number[], w: Float64Array, ws: number[], s: number[], d: number[], depthwise: boolean) {
  const [B, H, W, C] = xs;
  const [kh, kw] = ws;
  const M = depthwise ? ws[3] : 1,
    CO = depthwise ? C * M : ws[3];
  const geo = (n: number, k: number, st: number, dl: number) => {
    const out = Math.ceil(n / st),
      total = Math.max((out - 1) * st + (k - 1) * dl + 1 - n, 0);
    return { out, before: Math.floor(total / 2) };
  };
  const gh = geo(H, kh, s[0], d[0]),
    gw = geo(W, kw, s[1], d[1]);
  const y = new Float64Array(B * gh.out * gw.out * CO);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < gh.out; oh++)
      for (let ow = 0; ow < gw.out; ow++)
        for (let co = 0; co < CO; co++) {
          let acc = 0;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const h = oh * s[0] - gh.before + i * d[0],
                wq = ow * s[1] - gw.before + j * d[1];
              if (h < 0 || h >= H || wq < 0 || wq >= W) continue;
              if (depthwise) {
                const c = Math.floor(co / M);
                acc += x[((b * H + h) * W + wq) * C + c] * w[((i * kw + j) * C + c) * M + (co % M)];
              } else for (let c = 0; c < C; c++) acc += x[((b * H + h) * W + wq) * C + c] * w[((i * kw + j) * C + c) * CO + co];
            }
          y[((b * gh.out + oh) * gw.out + ow) * CO + co] = acc;
        }
  return { y, shape: [B, gh.out, gw.out, CO] };
}

test("wasm conv2d, depthwise and fused convs with 'same' padding equal the float64 reference, kernels shorter than their stride included", async () => {
  await initBackend('wasm');
  const r = mulberry32(seed);
  const rand = (n: number) => Float64Array.from({ length: n }, () => r() * 2 - 1);
  // [H, W, kh, kw, strides, dilations]
  const cases: [number, number, number, number, number[], number[]][] = [
    [6, 6, 2, 2, [3, 3], [1, 1]], // the shape wasm got wrong
    [6, 5, 1, 3, [2, 1], [1, 1]],
    [6, 14, 3, 1, [2, 2], [1, 1]],
    [7, 7, 2, 2, [3, 3], [1, 1]],
    [6, 6, 3, 3, [2, 2], [1, 1]],
    [8, 8, 1, 1, [2, 2], [1, 1]],
    [9, 7, 3, 3, [1, 1], [2, 2]],
    [10, 9, 2, 3, [4, 3], [1, 1]],
  ];
  let short = 0;
  for (const [H, W, kh, kw, s, d] of cases) {
    const xs = [2, H, W, 3];
    const x = rand(xs.reduce((a, b) => a * b));
    if (explicitSamePadding(xs, [kh, kw], s, d)) short++;
    for (const kind of ['conv', 'depthwise', 'fused conv', 'fused depthwise'] as const) {
      const depthwise = kind.includes('depthwise');
      if (d[0] > 1 && s[0] > 1) continue; // TF.js refuses strides and dilations together
      const ws = depthwise ? [kh, kw, 3, 2] : [kh, kw, 3, 4];
      const w = rand(ws.reduce((a, b) => a * b));
      const ref = reference(x, xs, w, ws, s, d, depthwise);
      const got = tf.tidy(() => {
        const xt = tf.tensor4d(Float32Array.from(x), xs as [number, number, number, number]);
        const wt = tf.tensor4d(Float32Array.from(w), ws as [number, number, number, number]);
        const strides = s as [number, number],
          dilations = d as [number, number];
        if (kind === 'conv') return tf.conv2d(xt, wt, strides, 'same', 'NHWC', dilations);
        if (kind === 'depthwise') return tf.depthwiseConv2d(xt, wt, strides, 'same', 'NHWC', dilations);
        const args = { x: xt, filter: wt, strides, pad: 'same' as const, dilations };
        return kind === 'fused conv' ? tf.fused.conv2d(args) : tf.fused.depthwiseConv2d(args);
      });
      const label = `${kind} ${H}×${W}, kernel ${kh}×${kw}, strides ${s}, dilations ${d} (seed ${seed})`;
      assert.deepEqual(got.shape, ref.shape, label);
      const e = relErr(got.dataSync(), ref.y);
      got.dispose();
      assert.ok(e <= 1e-6, `${label}: relative error ${e.toExponential(2)}`);
    }
  }
  assert.equal(short, 4, 'four shapes have a kernel that ends before the input');
});
