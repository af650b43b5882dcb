// Blocked Cholesky and triangular solves whose bulk is matrix products on a GemmProvider, so that a fast provider
// (onnxruntime: MLAS) does the O(m³) work and JS only the thin panels: the same arithmetic as the unblocked loops of
// ../cholesky.ts, re-ordered. Row-major float64; precision follows the provider (use a float64 one at small λ).
//   cholesky: right-looking, panel width nb; trailing update A22 −= L21 L21ᵀ is one gramRows per panel.
//   trsmLower: X = L⁻¹B, block rows top-down; X_i −= L_i,<i X_<i is one matmul per block row.
import { GemmProvider, Matrix } from './types';

const NB = 64;

export class NotPositiveDefinite extends Error {
  constructor(readonly pivot: number, readonly value: number) {
    super(`matrix is not positive definite (pivot ${pivot} = ${value.toExponential(2)})`);
  }
}

/** L with A = LLᵀ (lower, zeros above). A is m×m symmetric positive definite (only its lower triangle is read). */
export function blockedCholesky(A: Float64Array, m: number, g: GemmProvider, nb = NB): Float64Array {
  const L = Float64Array.from(A.subarray(0, m * m));
  for (let k0 = 0; k0 < m; k0 += nb) {
    const k1 = Math.min(m, k0 + nb), w = k1 - k0, r = m - k1;
    // diagonal block, unblocked (its trailing updates are already applied)
    for (let i = k0; i < k1; i++) {
      const oi = i * m;
      for (let j = k0; j <= i; j++) {
        const oj = j * m;
        let s = L[oi + j];
        for (let t = k0; t < j; t++) s -= L[oi + t] * L[oj + t];
        if (i === j) {
          if (!(s > 0)) throw new NotPositiveDefinite(j, s);
          L[oi + i] = Math.sqrt(s);
        } else L[oi + j] = s / L[oj + j];
      }
    }
    if (r === 0) break;
    // panel L21 = A21 L11⁻ᵀ (each row by forward substitution), packed r×w for the product
    const P = new Float64Array(r * w);
    for (let i = k1; i < m; i++) {
      const oi = i * m, op = (i - k1) * w;
      for (let j = k0; j < k1; j++) {
        const oj = j * m;
        let s = L[oi + j];
        for (let t = k0; t < j; t++) s -= L[oi + t] * L[oj + t];
        L[oi + j] = s / L[oj + j];
        P[op + j - k0] = L[oi + j];
      }
    }
    // trailing update of the lower triangle: A22 −= L21 L21ᵀ
    const S = g.gramRows(P, r, w);
    for (let i = 0; i < r; i++) {
      const oi = (k1 + i) * m + k1, os = i * r;
      for (let j = 0; j <= i; j++) L[oi + j] -= S[os + j];
    }
  }
  for (let i = 0; i < m; i++) L.fill(0, i * m + i + 1, (i + 1) * m);
  return L;
}

/** X = L⁻¹B for L m×m lower triangular, B m×n. */
export function blockedTrsmLower(L: Float64Array, B: Matrix, m: number, n: number, g: GemmProvider, nb = NB): Float64Array {
  const X = Float64Array.from(B.subarray(0, m * n));
  for (let i0 = 0; i0 < m; i0 += nb) {
    const i1 = Math.min(m, i0 + nb), w = i1 - i0;
    if (i0 > 0) {
      const Lp = new Float64Array(w * i0);
      for (let i = 0; i < w; i++) Lp.set(L.subarray((i0 + i) * m, (i0 + i) * m + i0), i * i0);
      const P = g.matmul(Lp, X.subarray(0, i0 * n), w, i0, n);
      const o = i0 * n;
      for (let t = 0; t < w * n; t++) X[o + t] -= P[t];
    }
    // forward substitution inside the block, a row of X at a time
    for (let i = i0; i < i1; i++) {
      const oi = i * n, li = i * m;
      for (let t = i0; t < i; t++) {
        const l = L[li + t];
        if (l === 0) continue;
        const ot = t * n;
        for (let j = 0; j < n; j++) X[oi + j] -= l * X[ot + j];
      }
      const d = 1 / L[li + i];
      for (let j = 0; j < n; j++) X[oi + j] *= d;
    }
  }
  return X;
}

/** L⁻¹ (lower triangular) as blockedTrsmLower(L, I). */
export function blockedInvLower(L: Float64Array, m: number, g: GemmProvider, nb = NB): Float64Array {
  const I = new Float64Array(m * m);
  for (let i = 0; i < m; i++) I[i * m + i] = 1;
  const X = blockedTrsmLower(L, I, m, m, g, nb);
  for (let i = 0; i < m; i++) X.fill(0, i * m + i + 1, (i + 1) * m); // exact zeros above the diagonal
  return X;
}
