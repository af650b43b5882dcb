// The two factorizations a Fisher block's inverse is built from, as product steps (cholesky.ts's Steps): run here
// product by product through gemm.ts, or whole on the onnxruntime thread where the backend takes them (one request a
// batch instead of a crossing a product; ortThread.ts runs these same generators, so both give the same numbers).
import { choleskyInverseSteps, runSteps, type Steps } from './cholesky';
import { backendFactor, type FactorJob, type FactorName, type Matrix } from './gemm';
import { recycle } from './scratch';

/** R = L⁻¹ with LLᵀ = GᵀG + k'λI = k'(λI + GᵀG/k), k' = max(k, 1), for `count` k×m matrices G: the primal form's
 *  F = λI + GᵀG/N has F⁻¹ = N'·RᵀR (the factor is the caller's: no pass over the gram to scale it). → [R] */
export function* gramFactor(G: Matrix, k: number, m: number, damp: number, count: number, what: string): Steps<Float64Array[]> {
  const A = yield { op: 'gramCols', A: G, k, m, count },
    mm = m * m,
    kd = Math.max(k, 1) * damp;
  for (let c = 0; c < count; c++) for (let i = 0; i < m; i++) A[c * mm + i * m + i] += kd; // GᵀG + k'λI
  const { Linv: R } = yield* choleskyInverseSteps(A, m, { what, count });
  recycle(A);
  return [R];
}

/** L⁻¹ and H = L⁻¹G with LLᵀ = K = kλI + GGᵀ, for `count` k×m matrices G (the dual form's Woodbury matrix). → [L⁻¹, H] */
export function* rowGramFactor(G: Matrix, k: number, m: number, damp: number, count: number, what: string): Steps<Float64Array[]> {
  const K = yield { op: 'gramRows', A: G, m: k, k: m, count },
    kk = k * k;
  for (let c = 0; c < count; c++) for (let i = 0; i < k; i++) K[c * kk + i * k + i] += k * damp; // K = kλI + GGᵀ
  const { Linv } = yield* choleskyInverseSteps(K, k, { what, count });
  recycle(K);
  const H = yield { op: 'matmul', A: Linv, B: G, m: k, k, n: m, count }; // H = L⁻¹G
  return [Linv, H];
}

export type { FactorJob, FactorName };
export const FACTORS: Record<FactorName, typeof gramFactor> = { gramFactor, rowGramFactor };

/** Multiply-adds of one matrix's factorization (products as run): decides whether a native request pays. */
export function factorWork(name: FactorName, k: number, m: number): number {
  return name === 'gramFactor' ? k * m * m + (2 * m ** 3) / 3 : 2 * k * k * m + (2 * k ** 3) / 3;
}

/** The factorization, whole on the backend where it takes it, else product by product. */
export function factor(job: FactorJob): Float64Array[] {
  const { name, G, k, m, damp, count, what } = job;
  return backendFactor(job) ?? runSteps(FACTORS[name](G, k, m, damp, count, what));
}
