// Plain-JS float64 provider: gemm.ts's own kernels behind the provider interface (always available).
import { jsBackend } from '../gemm';
import { GemmProvider, checkSize } from './types';

export function jsProvider(): GemmProvider {
  return {
    name: 'js',
    precision: 'float64',
    gramCols: (A, k, m) => { checkSize('gramCols', A, k * m); return jsBackend.gramCols(A, k, m); },
    gramRows: (A, m, k) => { checkSize('gramRows', A, m * k); return jsBackend.gramRows(A, m, k); },
    matmulTN: (A, B, k, m, n) => { checkSize('matmulTN A', A, k * m); checkSize('matmulTN B', B, k * n); return jsBackend.matmulTN(A, B, k, m, n); },
    matmul: (A, B, m, k, n) => { checkSize('matmul A', A, m * k); checkSize('matmul B', B, k * n); return jsBackend.matmul(A, B, m, k, n); },
    dispose: () => {},
  };
}
