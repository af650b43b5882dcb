// The primal Fisher factor in one request on the onnxruntime thread (ortThread.ts: the damped gram, then cholesky.ts's
// recursion with its products run there) against float64 references on fresh random inputs: R = L⁻¹ with
// LLᵀ = A = λI + GᵀG/k, so R A Rᵀ = I, R is lower triangular, RᵀR = A⁻¹ (Gauss-Jordan); and bit for bit the R the
// same recursion gives product by product from the calling thread. Sizes around the recursion's base case (16).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { onnxRuntimeProvider, onnxRuntimeUnavailable } from '../../../../src/engine/linalg/accel';
import { choleskyInverse } from '../../../../src/engine/linalg/cholesky';
import { setGemmBackend } from '../../../../src/engine/linalg/gemm';
import { WoodFisherError } from '../../../../src/engine/types';
import { denseFisher, freshSeed, gaussJordanInverse, gradients, matmulRef, relErr, rng, transpose } from '../reference';

const why = onnxRuntimeUnavailable();

test(
  'gramInverseFactor: R = L⁻¹ of λI + GᵀG/k for a batch, sizes around the recursion levels, float32 and float64 G',
  { skip: why },
  () => {
    const p = onnxRuntimeProvider({ precision: 'float64' });
    try {
      const seed = freshSeed(),
        r = rng(seed);
      for (const [k, b, count] of [
        [7, 1, 2],
        [40, 5, 3],
        [50, 16, 2],
        [64, 17, 3],
        [130, 64, 2],
        [128, 100, 2],
        [200, 131, 1],
      ]) {
        for (const damp of [1e-2, 1e-6]) {
          for (const f32 of [false, true]) {
            const G64 = new Float64Array(count * k * b);
            for (let c = 0; c < count; c++) G64.set(gradients(r, k, b), c * k * b);
            const G = f32 ? Float32Array.from(G64) : G64;
            const R = p.gramInverseFactor!(G, k, b, damp, count)!;
            assert.equal(R.length, count * b * b);
            for (let c = 0; c < count; c++) {
              const at = `k=${k} b=${b} λ=${damp} ${f32 ? 'float32' : 'float64'} block ${c} seed ${seed}`;
              const Rc = R.subarray(c * b * b, (c + 1) * b * b);
              for (let i = 0; i < b; i++) for (let j = i + 1; j < b; j++) assert.equal(Rc[i * b + j], 0, `upper triangle ${at}`);
              const A = denseFisher(G.subarray(c * k * b, (c + 1) * k * b), k, b, damp);
              const I = matmulRef(matmulRef(Rc, A, b, b, b), transpose(Rc, b, b), b, b, b); // R A Rᵀ
              const eye = Float64Array.from({ length: b * b }, (_, i) => (i % (b + 1) === 0 ? 1 : 0));
              assert.ok(relErr(I, eye) < 1e-9, `R A Rᵀ = I ${at}: ${relErr(I, eye)}`);
              const tol = damp === 1e-2 ? 1e-9 : 1e-5; // λ = 1e-6: Gauss-Jordan itself is the weaker reference
              assert.ok(relErr(matmulRef(transpose(Rc, b, b), Rc, b, b, b), gaussJordanInverse(A, b)) < tol, `RᵀR = A⁻¹ ${at}`);
            }
          }
        }
      }
    } finally {
      p.dispose();
    }
  },
);

test('gramInverseFactor: a matrix that is not positive definite is a NUMERIC WoodFisherError naming the pivot', { skip: why }, () => {
  const p = onnxRuntimeProvider({ precision: 'float64' });
  try {
    const k = 3,
      b = 37,
      G = gradients(rng(freshSeed()), k, b); // rank 3: λ < 0 leaves A indefinite
    assert.throws(
      () => p.gramInverseFactor!(G, k, b, -1e-3, 1),
      (e: unknown) => e instanceof WoodFisherError && e.code === 'NUMERIC' && /not positive definite \(pivot \d+/.test(e.message),
    );
    // the thread is still usable afterwards
    const R = p.gramInverseFactor!(G, k, b, 1e-2, 1)!;
    assert.ok(R.every(Number.isFinite));
  } finally {
    p.dispose();
  }
});

test('gramInverseFactor: bit for bit the R of the same recursion product by product', { skip: why }, () => {
  const p = onnxRuntimeProvider({ precision: 'float64' });
  try {
    const r = rng(freshSeed()),
      k = 96,
      b = 128,
      count = 3,
      damp = 1e-5;
    const G = Float32Array.from(gradients(r, count * k, b));
    const R = p.gramInverseFactor!(G, k, b, damp, count)!;
    setGemmBackend({ gramCols: p.gramCols, gramRows: p.gramRows, matmul: p.matmul, matmulTN: p.matmulTN });
    const A = p.gramCols(G, k, b, count);
    for (let i = 0; i < A.length; i++) A[i] *= 1 / k;
    for (let c = 0; c < count; c++) for (let i = 0; i < b; i++) A[c * b * b + i * b + i] += damp;
    assert.deepEqual(choleskyInverse(A, b, { count }).Linv, R);
  } finally {
    setGemmBackend();
    p.dispose();
  }
});
