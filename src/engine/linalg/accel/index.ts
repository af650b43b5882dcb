// Fast matrix-product providers behind one interface (see types.ts and docs/performance.md).
//   openblas-f64            this package's OpenBLAS addon (Linux; products and whole factorizations, in-thread)
//   onnxruntime-f64 / -f32  onnxruntime-node (optional package; MLAS kernels, ≥3× the wasm matMul here)
//   tfjs-<backend>          tf.matMul on the active TF.js backend (wasm, tensorflow, cpu), float32
//   js                      plain JS float64 loops, always available
import { GemmProvider } from './types';
import { jsProvider } from './js';
import { tfjsProvider } from './tfjs';
import { onnxRuntimeProvider, onnxRuntimeUnavailable } from './onnxruntime';
import { openBlasProvider, openBlasUnavailable } from './openblas';

export type { GemmProvider, Matrix } from './types';
export { flops } from './types';
export { jsProvider } from './js';
export { tfjsProvider } from './tfjs';
export { onnxRuntimeProvider, onnxRuntimeUnavailable } from './onnxruntime';
export { openBlasProvider, openBlasUnavailable, openBlasConfig, nativeDepthwiseSums, populate } from './openblas';

export type ProviderName = 'auto' | 'openblas-f64' | 'onnxruntime-f64' | 'onnxruntime-f32' | 'tfjs' | 'js';

/**
 * The provider for the Fisher math. 'auto' (and precision 'float64', the default) picks openblas-f64 where its addon
 * loads, then onnxruntime-f64 where onnxruntime-node does, else js: float64 products keep the damped inverse accurate
 * at λ down to 1e-8.
 * With precision 'float32' allowed (well-conditioned blocks, large λ), 'auto' picks onnxruntime-f32, then tfjs.
 */
export function selectProvider(
  name: ProviderName = 'auto',
  opts: { precision?: 'float32' | 'float64'; threads?: number } = {},
): GemmProvider {
  const precision = opts.precision ?? 'float64';
  switch (name) {
    case 'openblas-f64':
      return openBlasProvider();
    case 'onnxruntime-f64':
      return onnxRuntimeProvider({ precision: 'float64', threads: opts.threads });
    case 'onnxruntime-f32':
      return onnxRuntimeProvider({ precision: 'float32', threads: opts.threads });
    case 'tfjs':
      return tfjsProvider();
    case 'js':
      return jsProvider();
    case 'auto':
      if (precision === 'float64' && !openBlasUnavailable()) return openBlasProvider();
      if (!onnxRuntimeUnavailable()) return onnxRuntimeProvider({ precision, threads: opts.threads });
      return precision === 'float32' ? tfjsProvider() : jsProvider();
  }
}
export { batchedTN, releaseBatchedTN, onnxBatchedTN, type BatchedTN } from './batchedOnnx';
