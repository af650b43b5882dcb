// TF.js provider: each product is one tf.matMul on the active backend (wasm: XNNPACK SIMD, one core in Node),
// float32 in and out. Transposed operands are materialised with tf.transpose first: on wasm, matMul with a
// transpose flag runs 10–20× slower than transpose + plain matMul (measured: 1 vs 20 GFLOP/s at 1000²).
// Inputs are uploaded once per call, intermediates are freed by tf.tidy, the result is read
// outside the tidy (large typed arrays returned from tidy throw) and its tensor disposed.
import * as tf from '@tensorflow/tfjs';
import { GemmProvider, Matrix, checkSize } from './types';

const f32 = (A: Matrix, len: number): Float32Array =>
  A instanceof Float32Array ? (A.length === len ? A : A.subarray(0, len)) : Float32Array.from(A.subarray(0, len));

/** Each matrix of a batch transposed (materialised: see above). */
const T = (a: tf.Tensor3D) => tf.transpose(a, [0, 2, 1]);

function run(f: () => tf.Tensor): Float64Array {
  const C = tf.tidy(f);
  try {
    return Float64Array.from(C.dataSync() as Float32Array);
  } finally {
    C.dispose();
  }
}

/** A provider on the TF.js backend active now (set it with tf.setBackend + tf.ready before). */
export function tfjsProvider(): GemmProvider {
  const backend = tf.getBackend();
  const check = () => {
    if (tf.getBackend() !== backend) throw new Error(`tfjs provider made for backend ${backend}, but ${tf.getBackend()} is active`);
  };
  return {
    name: `tfjs-${backend}`,
    precision: 'float32',
    gramCols: (A, k, m, c = 1) => {
      checkSize('gramCols', A, c * k * m);
      check();
      return run(() => {
        const a = tf.tensor3d(f32(A, c * k * m), [c, k, m]);
        return tf.matMul(T(a), a);
      });
    },
    gramRows: (A, m, k, c = 1) => {
      checkSize('gramRows', A, c * m * k);
      check();
      return run(() => {
        const a = tf.tensor3d(f32(A, c * m * k), [c, m, k]);
        return tf.matMul(a, T(a));
      });
    },
    matmulTN: (A, B, k, m, n, c = 1) => {
      checkSize('matmulTN A', A, c * k * m);
      checkSize('matmulTN B', B, c * k * n);
      check();
      return run(() => tf.matMul(T(tf.tensor3d(f32(A, c * k * m), [c, k, m])), tf.tensor3d(f32(B, c * k * n), [c, k, n])));
    },
    matmul: (A, B, m, k, n, c = 1) => {
      checkSize('matmul A', A, c * m * k);
      checkSize('matmul B', B, c * k * n);
      check();
      return run(() => tf.matMul(tf.tensor3d(f32(A, c * m * k), [c, m, k]), tf.tensor3d(f32(B, c * k * n), [c, k, n])));
    },
    dispose: () => {},
  };
}
