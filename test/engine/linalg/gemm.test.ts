import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gramCols, gramRows, matmul, matmulTN, matvec, matvecT, setGemmBackend } from '../../../src/engine/linalg/gemm';
import { freshSeed, matmulRef, randn, relErr, rng, transpose } from './reference';

test('gramCols, gramRows and matmulTN match a naive float64 product (odd sizes, float32 and float64 inputs)', () => {
  const seed = freshSeed(),
    r = rng(seed);
  for (const [k, m, n] of [
    [7, 5, 3],
    [37, 131, 9],
    [130, 3, 257],
    [1, 1, 1],
  ]) {
    const A = randn(r, k * m),
      B = randn(r, k * n);
    const At = transpose(A, k, m);
    assert.ok(relErr(gramCols(A, k, m), matmulRef(At, A, m, k, m)) < 1e-13, `gramCols seed ${seed}`);
    assert.ok(relErr(gramRows(At, m, k), matmulRef(At, A, m, k, m)) < 1e-13, `gramRows seed ${seed}`);
    assert.ok(relErr(matmulTN(A, B, k, m, n), matmulRef(At, B, m, k, n)) < 1e-13, `matmulTN seed ${seed}`);
    assert.ok(relErr(matmul(At, B, m, k, n), matmulRef(At, B, m, k, n)) < 1e-13, `matmul seed ${seed}`);
    const A32 = Float32Array.from(A);
    assert.ok(relErr(gramCols(A32, k, m), matmulRef(transpose(A32, k, m), A32, m, k, m)) < 1e-13, `gramCols f32 seed ${seed}`);
    const x = randn(r, m),
      y = randn(r, k);
    assert.ok(relErr(matvec(A, x, k, m), matmulRef(A, x, k, m, 1)) < 1e-13);
    assert.ok(relErr(matvecT(A, y, k, m), matmulRef(At, y, m, k, 1)) < 1e-13);
  }
});

test('setGemmBackend swaps the product and restores plain JS', () => {
  let calls = 0;
  setGemmBackend({
    gramCols: (A, k, m) => {
      calls++;
      return new Float64Array(m * m).fill(7);
    },
  });
  try {
    assert.equal(gramCols(new Float64Array(4), 2, 2)[3], 7);
    assert.equal(calls, 1);
  } finally {
    setGemmBackend();
  }
  assert.deepEqual(Array.from(gramCols(Float64Array.from([1, 2]), 1, 2)), [1, 2, 2, 4]);
});
