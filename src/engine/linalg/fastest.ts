// Routes the Fisher math's big products to the fastest float64 provider that loads (onnxruntime-node when
// installed), and small ones to plain JS, where a native call costs more than the arithmetic.
import { jsProvider, selectProvider, GemmProvider } from './accel';
import { setGemmBackend, type GemmBackend, type Matrix } from './gemm';

const SMALL = 2e6; // multiply-adds below which plain JS wins (measured: native call + copies ≈ 1 ms). One thread: the 2-thread pool gained nothing on 1000³ products here and collapsed under load.

let active: string | undefined;

/** Installs the provider (once) and returns its name for the report: 'onnxruntime-f64' or 'js'. */
export function useFastestGemm(name: 'auto' | 'js' = 'auto'): string {
  const want = name === 'js' ? 'js' : 'auto';
  if (active !== undefined && (want === 'auto' || active === 'js')) return active;
  let p: GemmProvider;
  try {
    p = want === 'js' ? jsProvider() : selectProvider('auto', { precision: 'float64', threads: 1 });
  } catch {
    p = jsProvider();
  }
  setGemmBackend(p.name === 'js' ? undefined : hybrid(p));
  active = p.name;
  return active;
}

function hybrid(fast: GemmProvider): GemmBackend {
  const js = jsProvider();
  const pick = (work: number) => (work < SMALL ? js : fast);
  return {
    gramCols: (A: Matrix, k: number, m: number) => pick(k * m * m / 2).gramCols(A, k, m),
    gramRows: (A: Matrix, m: number, k: number) => pick(k * m * m / 2).gramRows(A, m, k),
    matmulTN: (A: Matrix, B: Matrix, k: number, m: number, n: number) => pick(k * m * n).matmulTN(A, B, k, m, n),
    matmul: (A: Matrix, B: Matrix, m: number, k: number, n: number) => pick(k * m * n).matmul(A, B, m, k, n),
  };
}
