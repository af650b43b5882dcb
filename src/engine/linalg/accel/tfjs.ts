// TF.js provider: each product is one tf.matMul on the active backend (wasm: XNNPACK SIMD, one core in Node),
// float32 in and out. Transposed operands are materialised with tf.transpose first: on wasm, matMul with a
// transpose flag runs 10–20× slower than transpose + plain matMul (measured: 1 vs 20 GFLOP/s at 1000²).
// Inputs are uploaded once per call, intermediates are freed by tf.tidy, the result is read
// outside the tidy (large typed arrays returned from tidy throw) and its tensor disposed.
import * as tf from '@tensorflow/tfjs';
import { GemmProvider, Matrix, checkSize } from './types';

const f32 = (A: Matrix, len: number): Float32Array =>
  A instanceof Float32Array ? (A.length === len ? A : A.subarray(0, len)) : Float32Array.from(A.subarray(0, len));

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
    gramCols: (A, k, m) => {
      checkSize('gramCols', A, k * m); check();
      return run(() => { const a = tf.tensor2d(f32(A, k * m), [k, m]); return tf.matMul(tf.transpose(a), a); });
    },
    gramRows: (A, m, k) => {
      checkSize('gramRows', A, m * k); check();
      return run(() => { const a = tf.tensor2d(f32(A, m * k), [m, k]); return tf.matMul(a, tf.transpose(a)); });
    },
    matmulTN: (A, B, k, m, n) => {
      checkSize('matmulTN A', A, k * m); checkSize('matmulTN B', B, k * n); check();
      return run(() => tf.matMul(tf.transpose(tf.tensor2d(f32(A, k * m), [k, m])), tf.tensor2d(f32(B, k * n), [k, n])));
    },
    matmul: (A, B, m, k, n) => {
      checkSize('matmul A', A, m * k); checkSize('matmul B', B, k * n); check();
      return run(() => tf.matMul(tf.tensor2d(f32(A, m * k), [m, k]), tf.tensor2d(f32(B, k * n), [k, n])));
    },
    dispose: () => {},
  };
}
