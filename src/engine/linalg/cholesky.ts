// Cholesky factorization A = LLᵀ (row-major, lower) and the triangular solves built on it. All float64.
// Cost: cholesky m³/3, trsmLower m²n/2, invLower m³/6, spdInverse m³/3 + m³/6 + m³/2.
import { WoodFisherError } from '../types';
import { gramCols, gramRows, matmul, matmulTN } from './gemm';

const NB = 96; // panel width of the blocked factorizations: the O(m³) part goes through gemm.ts

/** Returns L (lower, zeros above) with A = LLᵀ; A is m×m symmetric positive definite and is not modified.
 *  Right-looking blocked: factor the diagonal block and the panel below it, then A₂₂ −= L₂₁L₂₁ᵀ (gramRows). */
export function cholesky(A: Float64Array, m: number, what = 'matrix'): Float64Array {
  const L = Float64Array.from(A);
  for (let k0 = 0; k0 < m; k0 += NB) {
    const k1 = Math.min(m, k0 + NB), w = k1 - k0, r = m - k1;
    const D = diagonalBlock(L, m, k0, w);
    factorSmall(D, w, k0, what);                          // L₁₁ = chol(A₁₁)
    for (let i = 0; i < w; i++) L.set(D.subarray(i * w, i * w + i + 1), (k0 + i) * m + k0);
    if (r === 0) break;
    const A21 = new Float64Array(r * w);                  // A₂₁, contiguous
    for (let i = 0; i < r; i++) A21.set(L.subarray((k1 + i) * m + k0, (k1 + i) * m + k1), i * w);
    const P = matmul(A21, transpose(invLower(D, w), w), r, w, w); // L₂₁ = A₂₁ L₁₁⁻ᵀ
    for (let i = 0; i < r; i++) L.set(P.subarray(i * w, (i + 1) * w), (k1 + i) * m + k0);
    const S = gramRows(P, r, w);                          // A₂₂ −= L₂₁L₂₁ᵀ
    for (let i = 0; i < r; i++) { const oi = (k1 + i) * m + k1, os = i * r; for (let j = 0; j <= i; j++) L[oi + j] -= S[os + j]; }
  }
  for (let i = 0; i < m; i++) L.fill(0, i * m + i + 1, (i + 1) * m);
  return L;
}

/** Unblocked Cholesky of a small w×w block in place (lower part used). */
function factorSmall(D: Float64Array, w: number, offset: number, what: string): void {
  for (let j = 0; j < w; j++) {
    const oj = j * w;
    let s = D[oj + j];
    for (let t = 0; t < j; t++) s -= D[oj + t] * D[oj + t];
    if (!(s > 0)) throw new WoodFisherError(`${what} is not positive definite (pivot ${offset + j} = ${s.toExponential(2)}); increase the damping λ`, 'NUMERIC');
    const ljj = Math.sqrt(s);
    D[oj + j] = ljj;
    for (let i = j + 1; i < w; i++) {
      const oi = i * w;
      let v = D[oi + j];
      for (let t = 0; t < j; t++) v -= D[oi + t] * D[oj + t];
      D[oi + j] = v / ljj;
    }
  }
  for (let i = 0; i < w; i++) D.fill(0, i * w + i + 1, (i + 1) * w);
}

/** The w×w diagonal block of an m×m row-major matrix starting at (k0, k0), copied. */
function diagonalBlock(L: Float64Array, m: number, k0: number, w: number): Float64Array {
  const D = new Float64Array(w * w);
  for (let i = 0; i < w; i++) D.set(L.subarray((k0 + i) * m + k0, (k0 + i) * m + k0 + w), i * w);
  return D;
}

function transpose(A: Float64Array, w: number): Float64Array {
  const T = new Float64Array(w * w);
  for (let i = 0; i < w; i++) for (let j = 0; j < w; j++) T[j * w + i] = A[i * w + j];
  return T;
}

/** x = L⁻¹ b (forward substitution). */
export function solveLower(L: Float64Array, b: Float64Array, m: number): Float64Array {
  const x = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const oi = i * m;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[oi + k] * x[k];
    x[i] = s / L[oi + i];
  }
  return x;
}

/** x = L⁻ᵀ b (back substitution with the transpose). */
export function solveLowerT(L: Float64Array, b: Float64Array, m: number): Float64Array {
  const x = Float64Array.from(b);
  for (let i = m - 1; i >= 0; i--) {
    const xi = (x[i] /= L[i * m + i]);
    const oi = i * m;
    for (let k = 0; k < i; k++) x[k] -= L[oi + k] * xi; // column i of Lᵀ is row i of L
  }
  return x;
}

/** x = A⁻¹ b given A = LLᵀ. */
export function cholSolve(L: Float64Array, b: Float64Array, m: number): Float64Array {
  return solveLowerT(L, solveLower(L, b, m), m);
}

/** X = L⁻¹ B, B is m×n row-major (may be float32). Blocked: X_I = L_II⁻¹ (B_I − L_{I,<I} X_{<I}), both products by gemm. */
export function trsmLower(L: Float64Array, B: Float64Array | Float32Array, m: number, n: number): Float64Array {
  const X = Float64Array.from(B);
  for (let i0 = 0; i0 < m; i0 += NB) {
    const i1 = Math.min(m, i0 + NB), w = i1 - i0;
    if (i0 > 0) {
      const Lb = new Float64Array(w * i0);
      for (let i = 0; i < w; i++) Lb.set(L.subarray((i0 + i) * m, (i0 + i) * m + i0), i * i0);
      const T = matmul(Lb, X.subarray(0, i0 * n), w, i0, n); // L_{I,<I} X_{<I}
      for (let t = 0; t < w * n; t++) X[i0 * n + t] -= T[t];
    }
    const XI = matmul(invLower(diagonalBlock(L, m, i0, w), w), X.subarray(i0 * n, i1 * n), w, w, n);
    X.set(XI, i0 * n);
  }
  return X;
}

/** X = L⁻ᵀ B, B is m×n row-major. Blocked backward: X_I = L_II⁻ᵀ (B_I − L_{>I,I}ᵀ X_{>I}), both products by gemm. */
export function trsmLowerT(L: Float64Array, B: Float64Array | Float32Array, m: number, n: number): Float64Array {
  const X = Float64Array.from(B);
  const top = Math.floor((m - 1) / NB) * NB;
  for (let i0 = top; i0 >= 0; i0 -= NB) {
    const i1 = Math.min(m, i0 + NB), w = i1 - i0, r = m - i1;
    if (r > 0) {
      const Lb = new Float64Array(r * w);                       // L_{>I,I}, r×w
      for (let i = 0; i < r; i++) Lb.set(L.subarray((i1 + i) * m + i0, (i1 + i) * m + i1), i * w);
      const T = matmulTN(Lb, X.subarray(i1 * n, m * n), r, w, n); // L_{>I,I}ᵀ X_{>I}
      for (let t = 0; t < w * n; t++) X[i0 * n + t] -= T[t];
    }
    const XI = matmulTN(invLower(diagonalBlock(L, m, i0, w), w), X.subarray(i0 * n, i1 * n), w, w, n); // L_II⁻ᵀ T
    X.set(XI, i0 * n);
  }
  return X;
}

/** L⁻¹ (lower): row i = −(1/L_ii) Σ_{k<i} L_ik (L⁻¹)_k, plus 1/L_ii on the diagonal (m³/6, triangular structure kept). */
export function invLower(L: Float64Array, m: number): Float64Array {
  const X = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const oi = i * m;
    for (let k = 0; k < i; k++) {
      const l = L[oi + k];
      if (l === 0) continue;
      const ok = k * m;
      for (let j = 0; j <= k; j++) X[oi + j] -= l * X[ok + j];
    }
    const d = 1 / L[oi + i];
    for (let j = 0; j < i; j++) X[oi + j] *= d;
    X[oi + i] = d;
  }
  return X;
}

/** A⁻¹ = L⁻ᵀ L⁻¹ for SPD A (m×m), via its Cholesky factor. */
export function spdInverse(A: Float64Array, m: number, what = 'matrix'): Float64Array {
  return gramCols(invLower(cholesky(A, m, what), m), m, m);
}
