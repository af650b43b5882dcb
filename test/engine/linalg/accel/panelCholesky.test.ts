// The primal Fisher factor on the onnxruntime thread (panelCholesky.ts: a graph per panel, diagonal blocks in JS)
// against float64 references on fresh random inputs: R = L⁻¹ with LLᵀ = A = λI + GᵀG/k, so R A Rᵀ = I, R is lower
// triangular, and RᵀR = A⁻¹ (Gauss-Jordan). Sizes around the panel width (one panel, a short last panel, several).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { onnxRuntimeProvider, onnxRuntimeUnavailable } from '../../../../src/engine/linalg/accel';
import { PANEL } from '../../../../src/engine/linalg/accel/panelCholesky';
import { WoodFisherError } from '../../../../src/engine/types';
import { denseFisher, freshSeed, gaussJordanInverse, gradients, matmulRef, relErr, rng, transpose } from '../reference';

const why = onnxRuntimeUnavailable();

test('gramInverseFactor: R = L⁻¹ of λI + GᵀG/k for a batch, any size around the panel width, float32 and float64 G', { skip: why }, () => {
  const p = onnxRuntimeProvider({ precision: 'float64' });
  try {
    const seed = freshSeed(),
      r = rng(seed);
    for (const [k, b, count] of [
      [7, 1, 2],
      [40, 5, 3],
      [50, PANEL, 2],
      [64, PANEL + 1, 3],
      [130, 2 * PANEL, 2],
      [128, 100, 2],
      [200, 4 * PANEL + 3, 1],
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
});

test('gramInverseFactor: a matrix that is not positive definite is a NUMERIC WoodFisherError naming the pivot', { skip: why }, () => {
  const p = onnxRuntimeProvider({ precision: 'float64' });
  try {
    const k = 3,
      b = 2 * PANEL + 5,
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
