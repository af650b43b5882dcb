// Convolution backprop kernels written with tensor ops (matMul, stridedSlice, pad), for backends that lack them (wasm).
import * as tf from '@tensorflow/tfjs';
import { padInput, tapGeometry, tapSlice, patches, type TapGeometry } from './patches';

type Pad = Parameters<typeof tapGeometry>[5];
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** dW[i,j,ci,co] = Σ_{b,oh,ow} xpad[b, oh·s + i·d, ow·s + j·d, ci] · dy[b,oh,ow,co]  (one matMul over all taps). */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  strides: number | [number, number],
  pad: Pad,
  dilations: number | [number, number] = 1,
  dimRoundingMode?: Rounding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filterShape;
    const g = tapGeometry(x.shape, kh, kw, strides, dilations, pad, dimRoundingMode);
    const p = patches(x, g).reshape([g.batch * g.outH * g.outW, kh * kw * ci]);
    const d = dy.reshape([g.batch * g.outH * g.outW, co]);
    return tf.matMul(p, d, true, false).reshape([kh, kw, ci, co]) as tf.Tensor4D;
  });
}

/** dW[i,j,c,m] = Σ_{b,oh,ow} xpad[b, oh·s + i·d, ow·s + j·d, c] · dy[b,oh,ow,c·M + m]. */
export function depthwiseBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  strides: number | [number, number],
  pad: Pad,
  dilations: number | [number, number] = 1,
  dimRoundingMode?: Rounding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = filterShape;
    const g = tapGeometry(x.shape, kh, kw, strides, dilations, pad, dimRoundingMode);
    const P = g.batch * g.outH * g.outW;
    // [C, P, M]: channels as the batch of a batched matMul.
    const d = dy.reshape([P, c, m]).transpose([1, 0, 2]);
    const xpad = padInput(x, g);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const xs = tapSlice(xpad, g, i, j).reshape([P, c]).transpose([1, 0]).reshape([c, 1, P]);
        taps.push(tf.matMul(xs, d).reshape([c, m])); // [C, M]
      }
    return tf.stack(taps).reshape([kh, kw, c, m]) as tf.Tensor4D;
  });
}

/** dx[b,h,w,c] = Σ_{i,j,m} dy[b,oh,ow,c·M+m] · W[i,j,c,m] where h = oh·s + i·d − top (scatter of each tap, strides by zero-interleave). */
export function depthwiseBackpropInput(
  xShape: number[],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | [number, number],
  pad: Pad,
  dilations: number | [number, number] = 1,
  dimRoundingMode?: Rounding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = filter.shape;
    const g = tapGeometry(xShape, kh, kw, strides, dilations, pad, dimRoundingMode);
    const B = g.batch,
      oh = g.outH,
      ow = g.outW;
    const d5 = dy.reshape([B, oh, ow, c, m]);
    const Hc = (kh - 1) * g.dh + oh * g.sh,
      Wc = (kw - 1) * g.dw + ow * g.sw;
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const w = filter.slice([i, j, 0, 0], [1, 1, c, m]).reshape([c, m]);
        let t: tf.Tensor = tf.sum(tf.mul(d5, w), 4); // [B, oh, ow, C]
        if (g.sh > 1 || g.sw > 1) {
          // interleave zeros: row oh → oh·s
          t = tf.pad(t.reshape([B, oh, 1, ow, 1, c]), [
            [0, 0],
            [0, 0],
            [0, g.sh - 1],
            [0, 0],
            [0, g.sw - 1],
            [0, 0],
          ]);
        }
        t = t.reshape([B, oh * g.sh, ow * g.sw, c]);
        parts.push(
          tf.pad(t as tf.Tensor4D, [
            [0, 0],
            [i * g.dh, Hc - i * g.dh - oh * g.sh],
            [j * g.dw, Wc - j * g.dw - ow * g.sw],
            [0, 0],
          ]),
        );
      }
    let full = parts.length === 1 ? parts[0] : tf.addN(parts);
    const needH = g.top + g.inH - Hc,
      needW = g.left + g.inW - Wc;
    if (needH > 0 || needW > 0)
      full = tf.pad(full, [
        [0, 0],
        [0, Math.max(0, needH)],
        [0, Math.max(0, needW)],
        [0, 0],
      ]);
    return tf.slice(full, [0, g.top, g.left, 0], [B, g.inH, g.inW, c]) as tf.Tensor4D;
  });
}

/** Kernel with zeros between taps: W_d[i·dh, j·dw] = W[i, j]; a conv with W_d equals the dilated conv with W. */
export function dilateKernel(w: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  if (dh === 1 && dw === 1) return w;
  return tf.tidy(() => {
    const [kh, kw, ci, co] = w.shape;
    const spread = tf.pad(w.reshape([kh, 1, kw, 1, ci, co]), [
      [0, 0],
      [0, dh - 1],
      [0, 0],
      [0, dw - 1],
      [0, 0],
      [0, 0],
    ]);
    return spread.reshape([kh * dh, kw * dw, ci, co]).slice([0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]) as tf.Tensor4D;
  });
}

/** dz spread by the strides: s − 1 zeros after each row and column, so a stride-1 correlation reaches every tap. */
function spread(dz: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dz;
  const [b, oh, ow, c] = dz.shape;
  return tf
    .pad(dz.reshape([b, oh, 1, ow, 1, c]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ])
    .reshape([b, oh * sh, ow * sw, c]);
}

/** The stride-spread dz padded so that a stride-1 'valid' correlation with a kh×kw kernel yields exactly dx's rows
 *  (padded-input rows top … top + H − 1): dx[r] = Σ_i u[r + top − i] · w[i]. */
function correlationPad(u: tf.Tensor4D, kh: number, kw: number, g: TapGeometry): tf.Tensor4D {
  const needH = g.inH + g.top,
    needW = g.inW + g.left; // u rows beyond these reach only padding
  if (u.shape[1] > needH || u.shape[2] > needW)
    u = u.slice([0, 0, 0, 0], [u.shape[0], Math.min(u.shape[1], needH), Math.min(u.shape[2], needW), u.shape[3]]);
  return tf.pad(u, [
    [0, 0],
    [kh - 1 - g.top, needH - u.shape[1]],
    [kw - 1 - g.left, needW - u.shape[2]],
    [0, 0],
  ]) as tf.Tensor4D;
}

/** dx of z = conv(x, W) for any strides, dilations and padding (TF.js' own gradient refuses dilations), with
 *  forward ops only (wasm's Conv2DBackpropInput is a slow loop): 1×1 as the 1×1 conv with Wᵀ; otherwise the full correlation of
 *  the stride-spread dz with the flipped, transposed (dilated) kernel, and the padding cut off. */
export function conv2dInputGrad(dz: tf.Tensor4D, w: tf.Tensor4D, g: TapGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh0, kw0, ci, co] = w.shape;
    if (kh0 === 1 && kw0 === 1 && g.sh === 1 && g.sw === 1 && !g.top && !g.left && !g.bottom && !g.right) {
      return tf.conv2d(dz, w.reshape([1, 1, ci, co]).transpose([0, 1, 3, 2]) as tf.Tensor4D, 1, 'valid'); // dz·Wᵀ (wasm's conv beats its matMul)
    }
    const wd = dilateKernel(w, g.dh, g.dw);
    const [kh, kw] = wd.shape;
    const flipped = tf.reverse(wd, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D; // [kh, kw, co, ci]
    return tf.conv2d(correlationPad(spread(dz, g.sh, g.sw), kh, kw, g), flipped, 1, 'valid');
  });
}

/** dx of z = depthwise(x, W) with native depthwise convolutions only: the full correlation of the stride-spread
 *  dz with the flipped kernel, channel multipliers summed, padding cut off. */
export function depthwiseInputGrad(dz: tf.Tensor4D, w: tf.Tensor4D, g: TapGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , c, m] = w.shape;
    const wd = dilateKernel(w, g.dh, g.dw);
    const [kh, kw] = wd.shape;
    const flipped = tf.reverse(wd, [0, 1]).reshape([kh, kw, c * m, 1]) as tf.Tensor4D;
    const dx = tf.depthwiseConv2d(correlationPad(spread(dz, g.sh, g.sw), kh, kw, g), flipped, 1, 'valid');
    return (m > 1 ? tf.sum(dx.reshape([g.batch, g.inH, g.inW, c, m]), 4) : dx) as tf.Tensor4D;
  });
}
