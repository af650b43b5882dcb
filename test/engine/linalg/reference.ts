// Test helpers: seeded random inputs and an independent dense float64 Gauss-Jordan inverse (partial pivoting).
import { mulberry32 } from '../../../src/engine/data/random';

/** mulberry32 (the engine's seeded PRNG), so a failing case can be replayed from its seed. */
export const rng = mulberry32;

export function freshSeed(): number {
  return (Math.random() * 2 ** 32) >>> 0;
}

export function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export function randn(r: () => number, len: number, scale = 1): Float64Array {
  return Float64Array.from({ length: len }, () => normal(r) * scale);
}

/** Gradient-like n×b matrix: a few shared directions plus noise, column scales log-uniform in [1e-3, 1e-1]. */
export function gradients(r: () => number, n: number, b: number, rank = 5, noise = 0.3): Float64Array {
  const s = Float64Array.from({ length: b }, () => 10 ** (-3 + 2 * r()));
  const Z = randn(r, n * rank),
    W = randn(r, rank * b);
  const G = new Float64Array(n * b);
  for (let k = 0; k < n; k++)
    for (let q = 0; q < b; q++) {
      let x = noise * normal(r);
      for (let t = 0; t < rank; t++) x += (Z[k * rank + t] * W[t * b + q]) / Math.sqrt(rank);
      G[k * b + q] = x * s[q];
    }
  return G;
}

/** Dense F = λI + GᵀG/N by the definition (plain triple loop). */
export function denseFisher(G: ArrayLike<number>, n: number, b: number, damp: number): Float64Array {
  const F = new Float64Array(b * b);
  for (let i = 0; i < b; i++)
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += G[k * b + i] * G[k * b + j];
      F[i * b + j] = s / n + (i === j ? damp : 0);
    }
  return F;
}

/** Gauss-Jordan inverse with partial pivoting, float64. */
export function gaussJordanInverse(A: ArrayLike<number>, m: number): Float64Array {
  const w = 2 * m,
    T = new Float64Array(m * w);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) T[i * w + j] = A[i * m + j];
    T[i * w + m + i] = 1;
  }
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let i = c + 1; i < m; i++) if (Math.abs(T[i * w + c]) > Math.abs(T[p * w + c])) p = i;
    if (p !== c)
      for (let j = 0; j < w; j++) {
        const t = T[c * w + j];
        T[c * w + j] = T[p * w + j];
        T[p * w + j] = t;
      }
    const piv = T[c * w + c];
    for (let j = 0; j < w; j++) T[c * w + j] /= piv;
    for (let i = 0; i < m; i++) {
      if (i === c) continue;
      const f = T[i * w + c];
      if (f === 0) continue;
      for (let j = 0; j < w; j++) T[i * w + j] -= f * T[c * w + j];
    }
  }
  const X = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) X[i * m + j] = T[i * w + m + j];
  return X;
}

export function matvecRef(A: ArrayLike<number>, x: ArrayLike<number>, m: number, n: number): Float64Array {
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
    y[i] = s;
  }
  return y;
}

export function matmulRef(A: ArrayLike<number>, B: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += A[i * k + t] * B[t * n + j];
      C[i * n + j] = s;
    }
  return C;
}

export function transpose(A: ArrayLike<number>, m: number, n: number): Float64Array {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = A[i * n + j];
  return T;
}

/** ‖x − y‖ / ‖y‖. */
export function relErr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (x[i] - y[i]) ** 2;
    den += y[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** max_i |x_i − y_i| / |y_i|. */
export function maxRelErr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < y.length; i++) e = Math.max(e, Math.abs(x[i] - y[i]) / Math.abs(y[i]));
  return e;
}
