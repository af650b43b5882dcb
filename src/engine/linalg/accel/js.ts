// Plain-JS float64 provider: gemm.ts's own kernels behind the provider interface (always available).
import { jsBackend } from '../gemm';
import { GemmProvider, checkSize } from './types';

export function jsProvider(): GemmProvider {
  return {
    name: 'js',
    precision: 'float64',
    gramCols: (A, k, m, c = 1) => {
      checkSize('gramCols', A, c * k * m);
      return jsBackend.gramCols(A, k, m, c);
    },
    gramRows: (A, m, k, c = 1) => {
      checkSize('gramRows', A, c * m * k);
      return jsBackend.gramRows(A, m, k, c);
    },
    matmulTN: (A, B, k, m, n, c = 1) => {
      checkSize('matmulTN A', A, c * k * m);
      checkSize('matmulTN B', B, c * k * n);
      return jsBackend.matmulTN(A, B, k, m, n, c);
    },
    matmul: (A, B, m, k, n, c = 1) => {
      checkSize('matmul A', A, c * m * k);
      checkSize('matmul B', B, c * k * n);
      return jsBackend.matmul(A, B, m, k, n, c);
    },
    dispose: () => {},
  };
}
