// Plain-JS float64 provider: the fallback that always works, and the reference for the others.
import { GemmProvider, Matrix, checkSize } from './types';

const TILE = 128;

/** C = AᵀB over rows of A (k×m) and B (k×n), tiled over C's columns; sym: only j ≥ i (A = B), mirrored after. */
function tn(A: Matrix, B: Matrix, k: number, m: number, n: number, sym: boolean): Float64Array {
  const C = new Float64Array(m * n);
  for (let j0 = 0; j0 < n; j0 += TILE) {
    const j1 = Math.min(n, j0 + TILE);
    const iMax = sym ? Math.min(m, j1) : m;
    for (let r = 0; r < k; r++) {
      const oa = r * m, ob = r * n;
      for (let i = 0; i < iMax; i++) {
        const a = A[oa + i];
        if (a === 0) continue;
        const ci = i * n;
        for (let j = sym ? Math.max(j0, i) : j0; j < j1; j++) C[ci + j] += a * B[ob + j];
      }
    }
  }
  if (sym) for (let i = 1; i < m; i++) for (let j = 0; j < i; j++) C[i * m + j] = C[j * m + i];
  return C;
}

/** C = AB (A m×k, B k×n): rows of C as combinations of B's rows. */
function nn(A: Matrix, B: Matrix, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const oa = i * k, ci = i * n;
    for (let t = 0; t < k; t++) {
      const a = A[oa + t];
      if (a === 0) continue;
      const ob = t * n;
      for (let j = 0; j < n; j++) C[ci + j] += a * B[ob + j];
    }
  }
  return C;
}

/** C = AAᵀ (A m×k): dot products of rows. */
function rows(A: Matrix, m: number, k: number): Float64Array {
  const C = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const oi = i * k;
    for (let j = i; j < m; j++) {
      const oj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += A[oi + t] * A[oj + t];
      C[i * m + j] = s;
      C[j * m + i] = s;
    }
  }
  return C;
}

export function jsProvider(): GemmProvider {
  return {
    name: 'js',
    precision: 'float64',
    gramCols: (A, k, m) => { checkSize('gramCols', A, k * m); return tn(A, A, k, m, m, true); },
    gramRows: (A, m, k) => { checkSize('gramRows', A, m * k); return rows(A, m, k); },
    matmulTN: (A, B, k, m, n) => { checkSize('matmulTN A', A, k * m); checkSize('matmulTN B', B, k * n); return tn(A, B, k, m, n, false); },
    matmul: (A, B, m, k, n) => { checkSize('matmul A', A, m * k); checkSize('matmul B', B, k * n); return nn(A, B, m, k, n); },
    dispose: () => {},
  };
}
