// Cholesky factorization A = LLᵀ (row-major, lower) and the triangular solves built on it. All float64.
// Cost: cholesky m³/3, invLower m³/3, trsmLower m²n/2, spdInverse m³/3 + m³/2.
import { WoodFisherError } from '../types';
import { gramCols } from './gemm';

/** Returns L (lower, zeros above) with A = LLᵀ; A is m×m symmetric positive definite and is not modified. */
export function cholesky(A: Float64Array, m: number, what = 'matrix'): Float64Array {
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const oi = i * m;
    for (let j = 0; j <= i; j++) {
      const oj = j * m;
      let s = A[oi + j];
      for (let k = 0; k < j; k++) s -= L[oi + k] * L[oj + k]; // A_ij − Σ_k L_ik L_jk
      if (i === j) {
        if (!(s > 0)) {
          throw new WoodFisherError(`${what} is not positive definite (pivot ${j} = ${s.toExponential(2)}); increase the damping λ`, 'NUMERIC');
        }
        L[oi + i] = Math.sqrt(s);
      } else {
        L[oi + j] = s / L[oj + j];
      }
    }
  }
  return L;
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

/** X = L⁻¹ B, B is m×n row-major (may be float32): row i of X = (B_i − Σ_{k<i} L_ik X_k) / L_ii. */
export function trsmLower(L: Float64Array, B: Float64Array | Float32Array, m: number, n: number): Float64Array {
  const X = Float64Array.from(B);
  for (let i = 0; i < m; i++) {
    const oi = i * n, li = i * m;
    for (let k = 0; k < i; k++) {
      const l = L[li + k];
      if (l === 0) continue;
      const ok = k * n;
      for (let j = 0; j < n; j++) X[oi + j] -= l * X[ok + j];
    }
    const d = 1 / L[li + i];
    for (let j = 0; j < n; j++) X[oi + j] *= d;
  }
  return X;
}

/** L⁻¹ (lower): row i = −(1/L_ii) Σ_{k<i} L_ik (L⁻¹)_k, plus 1/L_ii on the diagonal. */
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
