// The interface every matrix-product provider implements. Row-major matrices; results are float64.
// It has the same shape as the GemmBackend of ../gemm.ts (gramCols / gramRows / matmulTN), so a provider
// plugs in with `setGemmBackend(provider)`; matmul (A·B) is extra, for blocked factorisations.

export type Matrix = Float64Array | Float32Array;

export interface GemmProvider {
  /** 'js', 'tfjs-wasm', 'tfjs-cpu', 'tfjs-tensorflow', 'onnxruntime-f32', 'onnxruntime-f64' … */
  readonly name: string;
  /** Arithmetic precision of the products: float32 providers round their inputs to float32 and accumulate in float32. */
  readonly precision: 'float32' | 'float64';
  /** C = AᵀA, A is k×m → m×m (full symmetric). `count` (default 1): that many products, matrices one after another. */
  gramCols(A: Matrix, k: number, m: number, count?: number): Float64Array;
  /** C = AAᵀ, A is m×k → m×m (full symmetric). */
  gramRows(A: Matrix, m: number, k: number, count?: number): Float64Array;
  /** C = AᵀB, A is k×m, B is k×n → m×n. */
  matmulTN(A: Matrix, B: Matrix, k: number, m: number, n: number, count?: number): Float64Array;
  /** C = AB, A is m×k, B is k×n → m×n. */
  matmul(A: Matrix, B: Matrix, m: number, k: number, n: number, count?: number): Float64Array;
  /** Frees native sessions / tensors held between calls. The provider must not be used afterwards. */
  dispose(): void;
}

/** Flops of each product, counting a multiply-add as 2 (what GFLOP/s figures use). */
export const flops = {
  gramCols: (k: number, m: number, count = 1) => 2 * count * k * m * m,
  gramRows: (m: number, k: number, count = 1) => 2 * count * k * m * m,
  matmulTN: (k: number, m: number, n: number, count = 1) => 2 * count * k * m * n,
  matmul: (m: number, k: number, n: number, count = 1) => 2 * count * k * m * n,
};

export function checkSize(what: string, A: Matrix, expected: number): void {
  if (A.length < expected) throw new RangeError(`${what}: matrix has ${A.length} elements, expected ${expected}`);
}
