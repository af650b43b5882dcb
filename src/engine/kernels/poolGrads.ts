// Gradients of 2-D max and average pooling (NHWC) as TensorFlow defines them, for the backends whose own kernels get
// them wrong (tfjs 4.22): wasm's MaxPoolGrad drops δ of every window whose values are all negative, and the cpu and
// wasm AvgPoolGrad divide by the whole window where the forward pass divides by the taps inside the input ('same').
import { tapsInside, type TapGeometry } from './patches';

type Values = ArrayLike<number>;

/** dx[argmax of each window] += dy: the first largest tap inside the input, in row-major window order. */
export function maxPoolBackprop(x: Values, dy: Values, g: TapGeometry): Float32Array {
  const { batch: B, inH: H, inW: W, inC: C, outH: OH, outW: OW } = g;
  const dx = new Float32Array(B * H * W * C);
  const best = new Float32Array(C),
    at = new Int32Array(C);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        best.fill(-Infinity);
        at.fill(-1);
        forTaps(g, b, oh, ow, base => {
          for (let c = 0; c < C; c++)
            if (x[base + c] > best[c]) {
              best[c] = x[base + c];
              at[c] = base + c;
            }
        });
        const o = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) if (at[c] >= 0) dx[at[c]] += dy[o + c];
      }
  return dx;
}

/** dx[tap] += dy / (taps of the window inside the input): the gradient of the forward pass's mean. */
export function avgPoolBackprop(dy: Values, g: TapGeometry): Float32Array {
  const { batch: B, inH: H, inW: W, inC: C, outH: OH, outW: OW } = g;
  const dx = new Float32Array(B * H * W * C);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const o = ((b * OH + oh) * OW + ow) * C;
        const n = tapsInside(g, oh, ow);
        forTaps(g, b, oh, ow, base => {
          for (let c = 0; c < C; c++) dx[base + c] += dy[o + c] / n;
        });
      }
  return dx;
}

/** Calls f with the NHWC offset of each tap of window (oh, ow) inside the input. */
function forTaps(g: TapGeometry, b: number, oh: number, ow: number, f: (base: number) => void): void {
  for (let i = 0; i < g.kh; i++) {
    const h = oh * g.sh - g.top + i * g.dh;
    if (h < 0 || h >= g.inH) continue;
    for (let j = 0; j < g.kw; j++) {
      const w = ow * g.sw - g.left + j * g.dw;
      if (w < 0 || w >= g.inW) continue;
      f(((b * g.inH + h) * g.inW + w) * g.inC);
    }
  }
}
