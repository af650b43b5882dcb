// The two factorizations a Fisher block's inverse is built from, as product steps (cholesky.ts's Steps): run here
// product by product through gemm.ts, or whole on the onnxruntime thread where the backend takes them (one request a
// batch instead of a crossing a product; ortThread.ts runs these same generators, so both give the same numbers).
// Every product gets float64 operands: float32 gradients are widened into pooled buffers here (a Cast node in each
// product's graph wrote a fresh output every run — page faults, 3–13 µs a page: docs/performance.md).
import { CHOL_BASE, choleskyInverseOfHalves, choleskyInverseSteps, runSteps, type Steps } from './cholesky';
import { backendFactor, type FactorJob, type FactorName, type Matrix } from './gemm';
import { recycle, takeBuffer } from './scratch';

/** R = L⁻¹ with LLᵀ = A = GᵀG + k'λI = k'(λI + GᵀG/k), k' = max(k, 1), for `count` k×m matrices G: the primal
 *  form's F = λI + GᵀG/N has F⁻¹ = N'·RᵀR (the factor is the caller's: no pass over the gram to scale it). The gram
 *  is computed as the blocks the recursion's first level takes, A₁₁ = G₁ᵀG₁, A₁₂ = G₁ᵀG₂, A₂₂ = G₂ᵀG₂ on G's column
 *  halves: ¾ of the whole product, and no gathering of A₁₁, A₁₂, A₂₂ out of it. → [R, ‖R_q‖²] */
export function* gramFactor(G: Matrix, k: number, m: number, damp: number, count: number, what: string): Steps<Float64Array[]> {
  const kd = Math.max(k, 1) * damp;
  if (m <= CHOL_BASE) {
    const G64 = float64(G, count * k * m);
    const A = yield { op: 'gramCols', A: G64, k, m, count };
    if (G64 !== G) recycle(G64);
    addDiagonal(A, m, count, kd);
    const { Linv: R } = yield* choleskyInverseSteps(A, m, { what, count });
    recycle(A);
    return [R, columnSquares(R, m, m, count)];
  }
  const h = m >> 1,
    r = m - h;
  const G1 = columns(G, count * k, m, 0, h),
    G2 = columns(G, count * k, m, h, m);
  const A11 = yield { op: 'gramCols', A: G1, k, m: h, count };
  addDiagonal(A11, h, count, kd);
  const A12 = yield { op: 'matmulTN', A: G1, B: G2, k, m: h, n: r, count };
  const A22 = yield { op: 'gramCols', A: G2, k, m: r, count };
  addDiagonal(A22, r, count, kd);
  recycle(G1, G2);
  const { Linv: R } = yield* choleskyInverseOfHalves(A11, m, () => ({ A12, A22 }), { what, count });
  return [R, columnSquares(R, m, m, count)];
}

/** X_ii += v for each of `count` m×m matrices. */
function addDiagonal(X: Float64Array, m: number, count: number, v: number): void {
  const mm = m * m;
  for (let c = 0; c < count; c++) for (let i = 0; i < m; i++) X[c * mm + i * m + i] += v;
}

/** Columns [c0, c1) of a rows×cols row-major matrix, contiguous, in float64 (float32 gradients widened in the same
 *  pass: the products take float64 operands, and the values are the same). */
function columns(G: Matrix, rows: number, cols: number, c0: number, c1: number): Float64Array {
  const w = c1 - c0,
    out = new Float64Array(takeBuffer(8 * rows * w));
  for (let i = 0; i < rows; i++) out.set(G.subarray(i * cols + c0, i * cols + c1), i * w);
  return out;
}

/** G itself when float64, else its first `len` values widened into a pooled buffer (the caller recycles it). */
function float64(G: Matrix, len: number): Float64Array {
  if (G instanceof Float64Array) return G;
  const out = new Float64Array(takeBuffer(8 * len));
  out.set(G.subarray(0, len));
  return out;
}

/** L⁻¹ and H = L⁻¹G with LLᵀ = K = kλI + GGᵀ, for `count` k×m matrices G (the dual form's Woodbury matrix).
 *  → [L⁻¹, H, ‖H_q‖²] */
export function* rowGramFactor(G: Matrix, k: number, m: number, damp: number, count: number, what: string): Steps<Float64Array[]> {
  const G64 = float64(G, count * k * m);
  const K = yield { op: 'gramRows', A: G64, m: k, k: m, count };
  addDiagonal(K, k, count, k * damp); // K = kλI + GGᵀ
  const { Linv } = yield* choleskyInverseSteps(K, k, { what, count });
  recycle(K);
  const H = yield { op: 'matmul', A: Linv, B: G64, m: k, k, n: m, count }; // H = L⁻¹G
  if (G64 !== G) recycle(G64);
  return [Linv, H, columnSquares(H, k, m, count)];
}

/** Σ_i X_iq² for every column q of `count` r×b matrices (row by row: the inner loop runs along memory); part of every
 *  factorization's outputs, where a native route computes it while the matrix is still in cache. */
export function columnSquares(X: Float64Array, r: number, b: number, count: number): Float64Array {
  const d = new Float64Array(count * b);
  for (let c = 0; c < count; c++) {
    const od = c * b;
    for (let i = 0; i < r; i++) {
      const o = (c * r + i) * b;
      for (let q = 0; q < b; q++) d[od + q] += X[o + q] * X[o + q];
    }
  }
  return d;
}

export type { FactorJob, FactorName };
export const FACTORS: Record<FactorName, typeof gramFactor> = { gramFactor, rowGramFactor };

/** Multiply-adds of one matrix's factorization (products as run): decides whether a native request pays. */
export function factorWork(name: FactorName, k: number, m: number): number {
  return name === 'gramFactor' ? (3 * k * m * m) / 4 + (2 * m ** 3) / 3 : 2 * k * k * m + (2 * k ** 3) / 3;
}

/** Byte lengths of a factorization's outputs (FACTORS' return order): gramFactor [R, ‖R_q‖²], rowGramFactor [L⁻¹, H,
 *  ‖H_q‖²]. */
export function factorOutputBytes(name: FactorName, k: number, m: number, count: number): number[] {
  return name === 'gramFactor' ? [8 * count * m * m, 8 * count * m] : [8 * count * k * k, 8 * count * k * m, 8 * count * m];
}

/** The factorization, whole on the backend where it takes it, else product by product. */
export function factor(job: FactorJob): Float64Array[] {
  const { name, G, k, m, damp, count, what } = job;
  return backendFactor(job) ?? runSteps(FACTORS[name](G, k, m, damp, count, what));
}
