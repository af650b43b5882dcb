// TF.js kernel layout ↔ the paper's (PyTorch) layout, row-major. Fisher blocks are cut in PyTorch order.
import type { PrunableKind } from '../types';

/** Dense [in,out]→[out,in]; Conv2D [kh,kw,in,out]→[out,in,kh,kw]; Conv1D [k,in,out]→[out,in,k]; DepthwiseConv2D [kh,kw,in,m]→[in·m,1,kh,kw]. */
export function torchShape(kind: PrunableKind, tfShape: number[]): number[] {
  const s = tfShape;
  switch (kind) {
    case 'Dense':
      return [s[s.length - 1], s.slice(0, -1).reduce((a, b) => a * b, 1)];
    case 'Conv2D':
      return [s[3], s[2], s[0], s[1]];
    case 'Conv1D':
      return [s[2], s[1], s[0]];
    case 'DepthwiseConv2D':
      return [s[2] * s[3], 1, s[0], s[1]];
  }
}

/** perm[torchIndex] = tfIndex. */
function permutation(kind: PrunableKind, tfShape: number[]): Int32Array {
  const n = tfShape.reduce((a, b) => a * b, 1);
  const perm = new Int32Array(n);
  let t = 0;
  switch (kind) {
    case 'Dense': {
      const [out, inp] = torchShape(kind, tfShape);
      for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) perm[t++] = i * out + o;
      break;
    }
    case 'Conv2D': {
      const [kh, kw, ci, co] = tfShape;
      for (let o = 0; o < co; o++)
        for (let c = 0; c < ci; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) perm[t++] = ((i * kw + j) * ci + c) * co + o;
      break;
    }
    case 'Conv1D': {
      const [k, ci, co] = tfShape;
      for (let o = 0; o < co; o++) for (let c = 0; c < ci; c++) for (let i = 0; i < k; i++) perm[t++] = (i * ci + c) * co + o;
      break;
    }
    case 'DepthwiseConv2D': {
      const [kh, kw, c, m] = tfShape;
      // torch out channel = c·m + k (TF.js depthwise output order), one input channel each.
      for (let ch = 0; ch < c; ch++)
        for (let k = 0; k < m; k++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) perm[t++] = ((i * kw + j) * c + ch) * m + k;
      break;
    }
  }
  return perm;
}

const cache = new Map<string, Int32Array>();
function cachedPermutation(kind: PrunableKind, tfShape: number[]): Int32Array {
  const key = kind + ':' + tfShape.join('x');
  let p = cache.get(key);
  if (!p) {
    p = permutation(kind, tfShape);
    if (cache.size > 64) cache.clear();
    cache.set(key, p);
  }
  return p;
}

/** TF.js-ordered values → PyTorch order, float64. */
export function toTorch(kind: PrunableKind, tfShape: number[], values: ArrayLike<number>): Float64Array {
  const perm = cachedPermutation(kind, tfShape);
  if (values.length !== perm.length) throw new Error(`toTorch: ${values.length} values for shape [${tfShape}]`);
  const out = new Float64Array(perm.length);
  for (let t = 0; t < perm.length; t++) out[t] = values[perm[t]];
  return out;
}

/** PyTorch-ordered values → TF.js order, float32. */
export function fromTorch(kind: PrunableKind, tfShape: number[], torchValues: ArrayLike<number>): Float32Array {
  const perm = cachedPermutation(kind, tfShape);
  if (torchValues.length !== perm.length) throw new Error(`fromTorch: ${torchValues.length} values for shape [${tfShape}]`);
  const out = new Float32Array(perm.length);
  for (let t = 0; t < perm.length; t++) out[perm[t]] = torchValues[t];
  return out;
}

/** The index permutation itself (perm[torchIndex] = tfIndex), e.g. to reorder gradient rows in bulk. */
export function torchPermutation(kind: PrunableKind, tfShape: number[]): Int32Array {
  return cachedPermutation(kind, tfShape);
}
