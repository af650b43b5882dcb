// A matrix-product provider: the four products of ../gemm.ts's GemmBackend (row-major, float64 results), plus its
// name, precision and the native resources it holds; it plugs in with `setGemmBackend(provider)` (fastest.ts).
import type { GemmBackend, Matrix } from '../gemm';

export type { Matrix };

export interface GemmProvider extends GemmBackend {
  /** 'js', 'tfjs-wasm', 'tfjs-cpu', 'tfjs-tensorflow', 'onnxruntime-f32', 'onnxruntime-f64' … */
  readonly name: string;
  /** Arithmetic precision of the products: float32 providers round their inputs to float32 and accumulate in float32. */
  readonly precision: 'float32' | 'float64';
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
