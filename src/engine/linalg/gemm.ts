// The big dense products of the Fisher math, in one place so a faster backend (wasm, BLAS, GPU) can replace them.
// All matrices are row-major float64; inputs may be float32 (promoted per element, accumulated in float64).
// Cost: gramCols m²k/2, gramRows m²k/2, matmulTN and matmul m·n·k flops (multiply-adds).
// The blocked Cholesky and triangular solves in cholesky.ts do their O(m³) work through gramRows and matmul.
// Batches: every product takes a trailing `count`; A (and B, C) then hold `count` equally shaped matrices one after
// another, and one call does them all (many small Fisher blocks cost one native call, not one each).

export type Matrix = Float64Array | Float32Array;
/** The factorizations of factors.ts a backend may run whole. */
export type FactorName = 'gramFactor' | 'rowGramFactor';
/** One batched factorization: `count` k×m matrices G, λ; `what` names the matrix in errors; `owned`: G may be
 *  handed over (moved to another thread, detached) instead of copied. */
export interface FactorJob {
  name: FactorName;
  G: Matrix;
  k: number;
  m: number;
  damp: number;
  count: number;
  what: string;
  owned?: boolean;
}

export interface GemmBackend {
  /** C = AᵀA, A is k×m → m×m (full symmetric); `count` such products (default 1). */
  gramCols(A: Matrix, k: number, m: number, count?: number): Float64Array;
  /** C = AAᵀ, A is m×k → m×m (full symmetric). */
  gramRows(A: Matrix, m: number, k: number, count?: number): Float64Array;
  /** C = AᵀB, A is k×m, B is k×n → m×n. */
  matmulTN(A: Matrix, B: Matrix, k: number, m: number, n: number, count?: number): Float64Array;
  /** C = AB, A is m×k, B is k×n → m×n. */
  matmul(A: Matrix, B: Matrix, m: number, k: number, n: number, count?: number): Float64Array;
  /** A factorization of factors.ts (its outputs) for a whole batch in one native request; undefined (or absent)
   *  where that would not pay: then factors.ts runs it through the products above. */
  factor?(job: FactorJob): Float64Array[] | undefined;
  /** `count` k×m blocks of a row-major matrix with row stride ld (block c's first row at starts[c]) one after another
   *  into `out`, of src's type; absent where no native copy is faster than the JS one (blocks.ts gathers then). */
  gather?(src: Matrix, ld: number, starts: Float64Array, k: number, m: number, count: number, out: Matrix): void;
}

const TILE = 128; // columns of C kept hot in cache while the k rows stream past

/** C = AᵀA as a sum of outer products of A's rows, tiled over C and unrolled 4 rows at a time. */
function gramColsJs(A: Matrix, k: number, m: number): Float64Array {
  const C = new Float64Array(m * m);
  for (let i0 = 0; i0 < m; i0 += TILE) {
    const i1 = Math.min(m, i0 + TILE);
    for (let j0 = i0; j0 < m; j0 += TILE) {
      const j1 = Math.min(m, j0 + TILE);
      let r = 0;
      for (; r + 3 < k; r += 4) {
        const o0 = r * m,
          o1 = o0 + m,
          o2 = o1 + m,
          o3 = o2 + m;
        for (let i = i0; i < i1; i++) {
          const a0 = A[o0 + i],
            a1 = A[o1 + i],
            a2 = A[o2 + i],
            a3 = A[o3 + i];
          if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
          const ci = i * m;
          for (let j = Math.max(j0, i); j < j1; j++) {
            C[ci + j] += a0 * A[o0 + j] + a1 * A[o1 + j] + a2 * A[o2 + j] + a3 * A[o3 + j];
          }
        }
      }
      for (; r < k; r++) {
        const o = r * m;
        for (let i = i0; i < i1; i++) {
          const a = A[o + i];
          if (a === 0) continue;
          const ci = i * m;
          for (let j = Math.max(j0, i); j < j1; j++) C[ci + j] += a * A[o + j];
        }
      }
    }
  }
  mirrorUpper(C, m);
  return C;
}

/** C = AAᵀ: dot products of A's rows, two rows of C at a time. */
function gramRowsJs(A: Matrix, m: number, k: number): Float64Array {
  const C = new Float64Array(m * m);
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const oi = i * k,
      oi1 = oi + k;
    for (let j = i; j < m; j++) {
      const oj = j * k;
      let s0 = 0,
        s1 = 0;
      for (let t = 0; t < k; t++) {
        const b = A[oj + t];
        s0 += A[oi + t] * b;
        s1 += A[oi1 + t] * b;
      }
      C[i * m + j] = s0;
      if (j > i) C[(i + 1) * m + j] = s1;
    }
  }
  for (; i < m; i++) {
    const oi = i * k;
    for (let j = i; j < m; j++) {
      const oj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += A[oi + t] * A[oj + t];
      C[i * m + j] = s;
    }
  }
  mirrorUpper(C, m);
  return C;
}

/** C = AᵀB as outer products of A's and B's rows, tiled over C's columns. */
function matmulTNJs(A: Matrix, B: Matrix, k: number, m: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let j0 = 0; j0 < n; j0 += TILE) {
    const j1 = Math.min(n, j0 + TILE);
    for (let r = 0; r < k; r++) {
      const oa = r * m,
        ob = r * n;
      for (let i = 0; i < m; i++) {
        const a = A[oa + i];
        if (a === 0) continue;
        const ci = i * n;
        for (let j = j0; j < j1; j++) C[ci + j] += a * B[ob + j];
      }
    }
  }
  return C;
}

/** C = AB as row axpys C_i += A_it B_t, tiled over C's columns. */
function matmulJs(A: Matrix, B: Matrix, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let j0 = 0; j0 < n; j0 += TILE) {
    const j1 = Math.min(n, j0 + TILE);
    for (let i = 0; i < m; i++) {
      const ci = i * n,
        ai = i * k;
      for (let t = 0; t < k; t++) {
        const a = A[ai + t];
        if (a === 0) continue;
        const bt = t * n;
        for (let j = j0; j < j1; j++) C[ci + j] += a * B[bt + j];
      }
    }
  }
  return C;
}

function mirrorUpper(C: Float64Array, m: number): void {
  for (let i = 1; i < m; i++) for (let j = 0; j < i; j++) C[i * m + j] = C[j * m + i];
}

/** `count` products one after another: matrix c of A is A[c·sa, (c+1)·sa), of B likewise, of C at c·sc. */
function each(
  count: number,
  sa: number,
  sb: number,
  sc: number,
  one: (A: Matrix, B: Matrix) => Float64Array,
  A: Matrix,
  B: Matrix,
): Float64Array {
  if (count === 1) return one(A, B);
  const C = new Float64Array(count * sc);
  for (let c = 0; c < count; c++) C.set(one(A.subarray(c * sa, (c + 1) * sa), B.subarray(c * sb, (c + 1) * sb)), c * sc);
  return C;
}

/** The plain-JS float64 kernels: the default, and the reference every faster provider is tested against. */
export const jsBackend: GemmBackend = {
  gramCols: (A, k, m, count = 1) => each(count, k * m, 0, m * m, a => gramColsJs(a, k, m), A, A),
  gramRows: (A, m, k, count = 1) => each(count, m * k, 0, m * m, a => gramRowsJs(a, m, k), A, A),
  matmulTN: (A, B, k, m, n, count = 1) => each(count, k * m, k * n, m * n, (a, b) => matmulTNJs(a, b, k, m, n), A, B),
  matmul: (A, B, m, k, n, count = 1) => each(count, m * k, k * n, m * n, (a, b) => matmulJs(a, b, m, k, n), A, B),
};
let backend: GemmBackend = jsBackend;

/** Replaces some or all products (e.g. by a wasm or BLAS implementation); call with no argument to restore plain JS.
 *  Precision: the Cholesky trailing updates and triangular solves also run through here, and at small λ the Fisher
 *  has condition numbers of 1e7+: a float32 backend (relative error ~1e-7 on entries ~‖g‖²) can lose the λ part
 *  entirely. Plug float32 providers in only where λ is large against ‖G‖²·1e-7, or keep float64 here. */
export function setGemmBackend(b?: Partial<GemmBackend>): void {
  backend = { ...jsBackend, ...(b ?? {}) };
}

export const gramCols = (A: Matrix, k: number, m: number, count = 1): Float64Array => backend.gramCols(A, k, m, count);
export const gramRows = (A: Matrix, m: number, k: number, count = 1): Float64Array => backend.gramRows(A, m, k, count);
export const matmulTN = (A: Matrix, B: Matrix, k: number, m: number, n: number, count = 1): Float64Array =>
  backend.matmulTN(A, B, k, m, n, count);
export const matmul = (A: Matrix, B: Matrix, m: number, k: number, n: number, count = 1): Float64Array =>
  backend.matmul(A, B, m, k, n, count);
/** The backend's native gather (GemmBackend.gather), or undefined. */
export const backendGather = () => backend.gather;
/** A factorization (factors.ts) in one native request, or undefined where the backend does not take it. */
export const backendFactor = (job: FactorJob) => backend.factor?.(job);

/** y = A x, A is m×n. */
export function matvec(A: Matrix, x: Float64Array, m: number, n: number): Float64Array {
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += A[o + j] * x[j];
    y[i] = s;
  }
  return y;
}

/** y = Aᵀ x, A is m×n. */
export function matvecT(A: Matrix, x: Float64Array, m: number, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const o = i * n;
    for (let j = 0; j < n; j++) y[j] += A[o + j] * xi;
  }
  return y;
}
