// Convolution backprop kernels written with tensor ops (matMul, stridedSlice, pad), for backends that lack them (wasm).
import * as tf from '@tensorflow/tfjs';
import { padInput, tapGeometry, tapSlice, patches } from './patches';

type Pad = Parameters<typeof tapGeometry>[5];
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** dW[i,j,ci,co] = Σ_{b,oh,ow} xpad[b, oh·s + i·d, ow·s + j·d, ci] · dy[b,oh,ow,co]  (one matMul over all taps). */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], strides: number | [number, number],
  pad: Pad, dilations: number | [number, number] = 1, dimRoundingMode?: Rounding): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filterShape;
    const g = tapGeometry(x.shape, kh, kw, strides, dilations, pad, dimRoundingMode);
    const p = patches(x, g).reshape([g.batch * g.outH * g.outW, kh * kw * ci]);
    const d = dy.reshape([g.batch * g.outH * g.outW, co]);
    return tf.matMul(p, d, true, false).reshape([kh, kw, ci, co]) as tf.Tensor4D;
  });
}

/** dW[i,j,c,m] = Σ_{b,oh,ow} xpad[b, oh·s + i·d, ow·s + j·d, c] · dy[b,oh,ow,c·M + m]. */
export function depthwiseBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], strides: number | [number, number],
  pad: Pad, dilations: number | [number, number] = 1, dimRoundingMode?: Rounding): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = filterShape;
    const g = tapGeometry(x.shape, kh, kw, strides, dilations, pad, dimRoundingMode);
    const P = g.batch * g.outH * g.outW;
    // [C, P, M]: channels as the batch of a batched matMul.
    const d = dy.reshape([P, c, m]).transpose([1, 0, 2]);
    const xpad = padInput(x, g);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const xs = tapSlice(xpad, g, i, j).reshape([P, c]).transpose([1, 0]).reshape([c, 1, P]);
      taps.push(tf.matMul(xs, d).reshape([c, m]));       // [C, M]
    }
    return tf.stack(taps).reshape([kh, kw, c, m]) as tf.Tensor4D;
  });
}

/** dx[b,h,w,c] = Σ_{i,j,m} dy[b,oh,ow,c·M+m] · W[i,j,c,m] where h = oh·s + i·d − top (scatter of each tap, strides by zero-interleave). */
export function depthwiseBackpropInput(xShape: number[], dy: tf.Tensor4D, filter: tf.Tensor4D, strides: number | [number, number],
  pad: Pad, dilations: number | [number, number] = 1, dimRoundingMode?: Rounding): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = filter.shape;
    const g = tapGeometry(xShape, kh, kw, strides, dilations, pad, dimRoundingMode);
    const B = g.batch, oh = g.outH, ow = g.outW;
    const d5 = dy.reshape([B, oh, ow, c, m]);
    const Hc = (kh - 1) * g.dh + oh * g.sh, Wc = (kw - 1) * g.dw + ow * g.sw;
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const w = filter.slice([i, j, 0, 0], [1, 1, c, m]).reshape([c, m]);
      let t: tf.Tensor = tf.sum(tf.mul(d5, w), 4);                     // [B, oh, ow, C]
      if (g.sh > 1 || g.sw > 1) {                                       // interleave zeros: row oh → oh·s
        t = tf.pad(t.reshape([B, oh, 1, ow, 1, c]), [[0, 0], [0, 0], [0, g.sh - 1], [0, 0], [0, g.sw - 1], [0, 0]]);
      }
      t = t.reshape([B, oh * g.sh, ow * g.sw, c]);
      parts.push(tf.pad(t as tf.Tensor4D, [[0, 0], [i * g.dh, Hc - i * g.dh - oh * g.sh], [j * g.dw, Wc - j * g.dw - ow * g.sw], [0, 0]]));
    }
    let full = parts.length === 1 ? parts[0] : tf.addN(parts);
    const needH = g.top + g.inH - Hc, needW = g.left + g.inW - Wc;
    if (needH > 0 || needW > 0) full = tf.pad(full, [[0, 0], [0, Math.max(0, needH)], [0, Math.max(0, needW)], [0, 0]]);
    return tf.slice(full, [0, g.top, g.left, 0], [B, g.inH, g.inW, c]) as tf.Tensor4D;
  });
}
