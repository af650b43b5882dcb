// Per-sample kernel gradients of one layer from its input x and δ = ∂ΣL/∂z (z its pre-activation): the layer's
// ordinary weight-gradient contraction, not summed over the batch. Rows in PyTorch order.
import { tf } from '../backend';
import type { PrunableKind } from '../types';
import { nativeDepthwiseSums, type BatchedTN } from '../linalg/accel';
import { recycle, scratch } from '../linalg/scratch';
import { patches, padInput, tapSlice, type TapGeometry } from '../kernels/patches';

const TAP_FLOATS = 8e6; // the depthwise tap tensor of one batch chunk (32 MB)

const tapFilters = new Map<string, tf.Tensor4D>();
/** One-hot depthwise filter [kh, kw, C, kh·kw]: output channel c·taps + t is the input under tap t. */
function tapFilter(kh: number, kw: number, c: number): tf.Tensor4D {
  const key = `${tf.getBackend()}:${kh}x${kw}x${c}`;
  let f = tapFilters.get(key);
  if (!f || f.isDisposed) {
    const taps = kh * kw;
    f = tf.keep(tf.tidy(() => tf.tile(tf.eye(taps).reshape([kh, kw, 1, taps]), [1, 1, c, 1])) as tf.Tensor4D);
    tapFilters.set(key, f);
  }
  return f;
}

/** [B, d] with row n = ∂L_n/∂W in torch order. g: the layer's convolution geometry (convs only). */
export function kernelGrads(kind: PrunableKind, shape: number[], x: tf.Tensor, delta: tf.Tensor, g?: TapGeometry): tf.Tensor2D {
  const B = x.shape[0];
  switch (kind) {
    case 'Dense': {
      const [inp, out] = shape;
      if (x.rank === 2) return tf.mul(delta.reshape([B, out, 1]), x.reshape([B, 1, inp])).reshape([B, out * inp]); // g = δ ⊗ x
      return tf.matMul(delta.reshape([B, -1, out]), x.reshape([B, -1, inp]), true, false).reshape([B, out * inp]); // Σ_t δ_t ⊗ x_t
    }
    case 'Conv2D':
    case 'Conv1D': {
      const x4 = (kind === 'Conv1D' ? x.reshape([B, 1, x.shape[1]!, x.shape[2]!]) : x) as tf.Tensor4D;
      const co = shape[shape.length - 1],
        ci = g!.inC,
        taps = g!.kh * g!.kw;
      const d = delta.reshape([B, g!.outH * g!.outW, co]);
      if (taps === 1) {
        // 1×1: g_n = δ_nᵀ x_n, already [co, ci]
        const xs = g!.sh === 1 && g!.sw === 1 && !g!.top && !g!.left ? x4 : tapSlice(padInput(x4, g!), g!, 0, 0);
        return tf.matMul(d, xs.reshape([B, g!.outH * g!.outW, ci]), true, false).reshape([B, co * ci]);
      }
      const P = patches(x4, g!); // [B, P, taps·ci]
      return tf
        .matMul(d, P, true, false)
        .reshape([B, co, taps, ci])
        .transpose([0, 1, 3, 2])
        .reshape([B, co * ci * taps]);
    }
    case 'DepthwiseConv2D': {
      const [kh, kw, c, m] = shape;
      const taps = kh * kw,
        P = g!.outH * g!.outW;
      // Σ_p x_tap[p, c] · δ[p, c, m] → [B, C, M, taps]; taps by one native depthwise conv, batch chunks keep them small
      const chunk = Math.max(1, Math.floor(TAP_FLOATS / (P * c * taps * m)));
      const parts: tf.Tensor[] = [];
      for (let b0 = 0; b0 < B; b0 += chunk) {
        const nb = Math.min(chunk, B - b0);
        const xs = (nb === B ? x : x.slice(b0, nb)) as tf.Tensor4D,
          ds = nb === B ? delta : delta.slice(b0, nb);
        const X = tf.depthwiseConv2d(
          xs,
          tapFilter(kh, kw, c),
          [g!.sh, g!.sw],
          [
            [0, 0],
            [g!.top, g!.bottom],
            [g!.left, g!.right],
            [0, 0],
          ],
          'NHWC',
          [g!.dh, g!.dw],
        );
        parts.push(tf.sum(tf.mul(X.reshape([nb, P, c, 1, taps]), ds.reshape([nb, P, c, m, 1])), 1).reshape([nb, c * m * taps]));
      }
      return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor2D; // torch [c·m, 1, kh, kw]
    }
  }
}

/** A float32 tensor's values without a copy where the backend allows (a view of the wasm heap: valid until the next
 *  TF.js op, so take views last). */
export function hostData(t: tf.Tensor): Float32Array {
  const b = tf.backend() as any;
  if (tf.getBackend() === 'wasm' && typeof b.typedArrayFromHeap === 'function')
    return b.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as Float32Array;
  return t.dataSync() as Float32Array;
}

/**
 * Rows n = 0 … B−1 of ∂L_n/∂W (torch order) written into target from row `row` on, or added to what is there
 * (a shared layer's later calls). Conv and dense contractions run as one batched product on `fast` when given
 * (onnxruntime: C[n] = δ_nᵀ X_n), everything else through kernelGrads on the TF.js backend. Returns the sum of the
 * values written: not finite iff one of them is not (checked where it is cheapest, on the backend or in the copy).
 */
export async function writeKernelGrads(
  kind: PrunableKind,
  shape: number[],
  x: tf.Tensor,
  delta: tf.Tensor,
  g: TapGeometry | undefined,
  target: Float32Array,
  row: number,
  add: boolean,
  fast?: BatchedTN,
): Promise<number> {
  const B = x.shape[0];
  const d = shape.reduce((a, b) => a * b, 1);
  const dst = target.subarray(row * d, (row + B) * d);
  if (kind === 'DepthwiseConv2D' && fast) {
    return depthwiseRows(shape, hostData(x), hostData(delta), g!, dst, add);
  }
  if (!fast || (kind === 'Dense' && x.rank === 2)) {
    // δ ⊗ x has nothing to sum: a broadcast multiply on the backend
    const t = tf.tidy(() => kernelGrads(kind, shape, x, delta, g));
    try {
      const st = tf.sum(t); // before the heap view: no TF.js op may run while it is held
      const sum = st.dataSync()[0];
      st.dispose();
      put(dst, hostData(t), add);
      return sum;
    } finally {
      t.dispose();
    }
  }
  const out = shape[shape.length - 1];
  if (kind === 'Dense') {
    const inp = shape[0],
      T = x.size / (B * inp);
    return put(dst, await fast.matmulTN(hostData(delta), hostData(x), B, T, out, inp), add, true); // [B, out, in]
  }
  const x4 = (kind === 'Conv1D' ? x.reshape([B, 1, x.shape[1]!, x.shape[2]!]) : x) as tf.Tensor4D;
  const taps = g!.kh * g!.kw,
    P = g!.outH * g!.outW,
    ci = g!.inC;
  const direct = taps === 1 && g!.sh === 1 && g!.sw === 1 && !g!.top && !g!.left;
  const X = direct ? x4 : tf.tidy(() => (taps === 1 ? tapSlice(padInput(x4, g!), g!, 0, 0) : patches(x4, g!)));
  try {
    const C = await fast.matmulTN(hostData(delta), hostData(X), B, P, out, taps * ci); // [B, co, taps, ci]
    if (taps === 1) return put(dst, C, add, true);
    // → torch [B, co, ci, taps]
    let sum = 0;
    for (let r = 0; r < B * out; r++) {
      const o = r * taps * ci;
      for (let t = 0; t < taps; t++)
        for (let c = 0; c < ci; c++) {
          const v = C[o + t * ci + c],
            k = o + c * taps + t;
          dst[k] = add ? dst[k] + v : v;
          sum += v;
        }
    }
    return sum;
  } finally {
    if (X !== x4) X.dispose();
    if (x4 !== x) x4.dispose();
  }
}

/** dst = src (or dst += src); the sum of src when asked (else 0). */
function put(dst: Float32Array, src: Float32Array, add: boolean, summed = false): number {
  let sum = 0;
  if (!add) {
    dst.set(src.subarray(0, dst.length));
    if (summed) for (let i = 0; i < dst.length; i++) sum += src[i];
    return sum;
  }
  for (let i = 0; i < dst.length; i++) {
    dst[i] += src[i];
    sum += src[i];
  }
  return sum;
}

/** Depthwise per-sample rows on the host values (~2× the layer's forward MACs, far below the tap tensors the tensor-op
 *  path materialises): row[c·M + m, tap] = Σ_p x[p·s + tap − pad, c] · δ[p, c·M + m], PyTorch order. */
function depthwiseRows(shape: number[], x: Float32Array, delta: Float32Array, g: TapGeometry, dst: Float32Array, add: boolean): number {
  const [kh, kw, C, M] = shape;
  const taps = kh * kw,
    CM = C * M,
    d = CM * taps;
  const acc = depthwiseSums(shape, x, delta, g); // [b, tap, c·M + m]
  let sum = 0;
  for (let b = 0; b < g.batch; b++) {
    const o = b * d;
    for (let t = 0; t < taps; t++)
      for (let k = 0; k < CM; k++) {
        const v = acc[o + t * CM + k],
          at = o + k * taps + t;
        dst[at] = add ? dst[at] + v : v;
        sum += v;
      }
  }
  recycle(acc);
  return sum;
}

/** acc[b, tap, c·M + m] = Σ_p x[b, p·s + tap − pad, c] · δ[b, p, c·M + m] in float64, on the OpenBLAS addon where it
 *  loads (the same sums in the same order: bit for bit depthwiseSumsJs, 10–12× faster on MobileNetV2's shapes). */
export function depthwiseSums(
  shape: number[],
  x: Float32Array,
  delta: Float32Array,
  g: TapGeometry,
  native = nativeDepthwiseSums(),
): Float64Array {
  const [kh, kw, C, M] = shape;
  if (!native) return depthwiseSumsJs(shape, x, delta, g);
  const acc = scratch(g.batch * kh * kw * C * M);
  const geometry = [g.batch, g.inH, g.inW, C, M, kh, kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left, g.outH, g.outW];
  native(x, delta, Float64Array.from(geometry), acc);
  return acc;
}

/** depthwiseSums in plain JS: the reference, and where the addon does not load. */
export function depthwiseSumsJs(shape: number[], x: Float32Array, delta: Float32Array, g: TapGeometry): Float64Array {
  const [kh, kw, C, M] = shape;
  const taps = kh * kw,
    CM = C * M;
  const all = scratch(g.batch * taps * CM).fill(0);
  for (let b = 0; b < g.batch; b++) {
    const acc = all.subarray(b * taps * CM, (b + 1) * taps * CM); // [tap, c·M + m]
    const xb = b * g.inH * g.inW * C,
      db = b * g.outH * g.outW * CM;
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++) {
        const dp = db + (oh * g.outW + ow) * CM;
        for (let i = 0; i < kh; i++) {
          const h = oh * g.sh + i * g.dh - g.top;
          if (h < 0 || h >= g.inH) continue;
          for (let j = 0; j < kw; j++) {
            const w = ow * g.sw + j * g.dw - g.left;
            if (w < 0 || w >= g.inW) continue;
            const xp = xb + (h * g.inW + w) * C,
              ap = (i * kw + j) * CM;
            if (M === 1) for (let c = 0; c < C; c++) acc[ap + c] += x[xp + c] * delta[dp + c];
            else
              for (let c = 0; c < C; c++) {
                const xv = x[xp + c];
                for (let m = 0; m < M; m++) acc[ap + c * M + m] += xv * delta[dp + c * M + m];
              }
          }
        }
      }
  }
  return all;
}
