// Convolution taps as strided slices of the padded input: the building block of every conv gradient here.
import * as tf from '@tensorflow/tfjs';

export interface TapGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
  bottom: number;
  right: number;
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** A Keras (h, w) argument given as one number or a list. */
export function pair(v: number | number[] | undefined, d = 1): [number, number] {
  if (v == null) return [d, d];
  return Array.isArray(v) ? [v[0], v[v.length > 1 ? 1 : 0]] : [v, v];
}

/** How many taps of window (oh, ow) lie inside the input (what an average pool divides by). */
export function tapsInside(g: TapGeometry, oh: number, ow: number): number {
  const inside = (o: number, s: number, top: number, k: number, d: number, size: number) => {
    let n = 0;
    for (let i = 0; i < k; i++) if (o * s - top + i * d >= 0 && o * s - top + i * d < size) n++;
    return n;
  };
  return inside(oh, g.sh, g.top, g.kh, g.dh, g.inH) * inside(ow, g.sw, g.left, g.kw, g.dw, g.inW);
}

/** Geometry of an NHWC convolution (TF.js' own padding arithmetic). */
export function tapGeometry(
  xShape: number[],
  kh: number,
  kw: number,
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): TapGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    [kh, kw, xShape[3], 1],
    strides,
    dilations,
    pad as 'same',
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    kh,
    kw,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    bottom: info.padInfo.bottom,
    right: info.padInfo.right,
  };
}

/** x zero-padded as the convolution sees it. */
export function padInput(x: tf.Tensor4D, g: TapGeometry): tf.Tensor4D {
  if (!g.top && !g.bottom && !g.left && !g.right) return x;
  return tf.pad(x, [
    [0, 0],
    [g.top, g.bottom],
    [g.left, g.right],
    [0, 0],
  ]);
}

/** Input values under tap (i, j) for every output position: xpad[b, oh·sh + i·dh, ow·sw + j·dw, c] → [B, outH, outW, C]. */
export function tapSlice(xpad: tf.Tensor4D, g: TapGeometry, i: number, j: number): tf.Tensor4D {
  const r0 = i * g.dh,
    c0 = j * g.dw;
  return tf.stridedSlice(
    xpad,
    [0, r0, c0, 0],
    [g.batch, r0 + (g.outH - 1) * g.sh + 1, c0 + (g.outW - 1) * g.sw + 1, g.inC],
    [1, g.sh, g.sw, 1],
  ) as tf.Tensor4D;
}

const eyeCache = new Map<string, tf.Tensor4D>();
/** One-hot filter [kh, kw, C, kh·kw·C]: a convolution with it extracts patches (index (i·kw + j)·C + c). */
function patchFilter(kh: number, kw: number, c: number): tf.Tensor4D {
  const key = `${tf.getBackend()}:${kh}x${kw}x${c}`;
  let f = eyeCache.get(key);
  if (!f || f.isDisposed) {
    f = tf.keep(tf.eye(kh * kw * c).reshape([kh, kw, c, kh * kw * c]) as tf.Tensor4D);
    eyeCache.set(key, f);
  }
  return f;
}

/** All taps side by side: [B, outH·outW, kh·kw·C], tap-major (index (i·kw + j)·C + c). */
export function patches(x: tf.Tensor4D, g: TapGeometry): tf.Tensor3D {
  return tf.tidy(() => {
    const width = g.kh * g.kw * g.inC;
    if (width <= 128 && ((g.sh === 1 && g.sw === 1) || (g.dh === 1 && g.dw === 1))) {
      // Few channels: one native convolution with a one-hot filter beats kh·kw strided slices.
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [g.top, g.bottom],
        [g.left, g.right],
        [0, 0],
      ];
      const y = tf.conv2d(x, patchFilter(g.kh, g.kw, g.inC), [g.sh, g.sw], pad, 'NHWC', [g.dh, g.dw]);
      return y.reshape([g.batch, g.outH * g.outW, width]) as tf.Tensor3D;
    }
    const xpad = padInput(x, g);
    const taps: tf.Tensor4D[] = [];
    for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) taps.push(tapSlice(xpad, g, i, j));
    // Stack on axis 0 then transpose: wasm's Concat on an inner axis is a slow JS row loop, Transpose is native.
    const all = taps.length === 1 ? taps[0] : tf.stack(taps, 0).transpose([1, 2, 3, 0, 4]);
    return all.reshape([g.batch, g.outH * g.outW, g.kh * g.kw * g.inC]) as tf.Tensor3D;
  });
}
