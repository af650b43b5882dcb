// Routes the Fisher math's big products to the fastest float64 provider that loads (onnxruntime-node when
// installed), and small ones to plain JS, where a native call costs more than the arithmetic.
import { jsProvider, selectProvider, GemmProvider } from './accel';
import { setGemmBackend, type GemmBackend, type Matrix } from './gemm';

// Multiply-adds below which plain JS wins: a native call costs ~20 µs (measured: 2×2 products, session reused)
// and the JS kernels do ~1e9 multiply-adds/s. Batches count their whole work (linalg/gemm.ts).
const SMALL = 3e4;

let active: string | undefined;
let provider: GemmProvider | undefined;

/**
 * Installs the provider (once per process) and returns its name for the report: 'onnxruntime-f64' or 'js'.
 * One native thread: on this 2-core class of machine a 2-thread pool gained nothing on 1000³ products and
 * collapsed when the other core was busy (TF.js, the editor).
 */
export function useFastestGemm(name: 'auto' | 'js' = 'auto', small = SMALL): string {
  if (active !== undefined && name === 'auto') return active;
  let p: GemmProvider = jsProvider();
  if (name === 'auto') {
    try { p = selectProvider('auto', { precision: 'float64', threads: 1 }); } catch { /* js it is */ }
  }
  setGemmBackend(p.name === 'js' ? undefined : hybrid(p, small));
  provider = p;
  active = p.name;
  return active;
}

/** Frees the native sessions (a worker thread does this before it exits: native code must not be torn down mid-call). */
export function releaseGemm(): void {
  provider?.dispose();
  provider = undefined;
  active = undefined;
  setGemmBackend(undefined);
}

function hybrid(fast: GemmProvider, small: number): GemmBackend {
  const js = jsProvider();
  const pick = (work: number) => (work < small ? js : fast);
  return { // a batch counts as one call: its whole work decides
    gramCols: (A: Matrix, k: number, m: number, c = 1) => pick(c * k * m * m / 2).gramCols(A, k, m, c),
    gramRows: (A: Matrix, m: number, k: number, c = 1) => pick(c * k * m * m / 2).gramRows(A, m, k, c),
    matmulTN: (A: Matrix, B: Matrix, k: number, m: number, n: number, c = 1) => pick(c * k * m * n).matmulTN(A, B, k, m, n, c),
    matmul: (A: Matrix, B: Matrix, m: number, k: number, n: number, c = 1) => pick(c * k * m * n).matmul(A, B, m, k, n, c),
  };
}
