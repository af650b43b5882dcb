import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cholesky, cholSolve, invLower, solveLower, solveLowerT, spdInverse, trsmLower } from '../../../src/engine/linalg/cholesky';
import { WoodFisherError } from '../../../src/engine/types';
import { freshSeed, gaussJordanInverse, matmulRef, matvecRef, randn, relErr, rng, transpose } from './reference';

function spd(r: () => number, m: number): Float64Array {
  const X = randn(r, m * m);
  const A = matmulRef(transpose(X, m, m), X, m, m, m);
  for (let i = 0; i < m; i++) A[i * m + i] += m * 0.1;
  return A;
}

test('cholesky: LLᵀ reproduces A, L lower; solves and inverses match Gauss-Jordan', () => {
  const seed = freshSeed(),
    r = rng(seed);
  for (const m of [1, 2, 17, 60, 250]) {
    const A = spd(r, m),
      L = cholesky(A, m);
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) assert.equal(L[i * m + j], 0);
    assert.ok(relErr(matmulRef(L, transpose(L, m, m), m, m, m), A) < 1e-13, `LLᵀ seed ${seed}`);
    const Ainv = gaussJordanInverse(A, m),
      b = randn(r, m);
    assert.ok(relErr(cholSolve(L, b, m), matvecRef(Ainv, b, m, m)) < 1e-10, `cholSolve seed ${seed}`);
    assert.ok(relErr(matvecRef(L, solveLower(L, b, m), m, m), b) < 1e-12, `solveLower seed ${seed}`);
    assert.ok(relErr(matvecRef(transpose(L, m, m), solveLowerT(L, b, m), m, m), b) < 1e-12, `solveLowerT seed ${seed}`);
    assert.ok(relErr(spdInverse(A, m), Ainv) < 1e-10, `spdInverse seed ${seed}`);
    assert.ok(relErr(invLower(L, m), gaussJordanInverse(L, m)) < 1e-10, `invLower seed ${seed}`);
    const B = randn(r, m * 5);
    assert.ok(relErr(matmulRef(L, trsmLower(L, B, m, 5), m, m, 5), B) < 1e-12, `trsmLower seed ${seed}`);
    assert.ok(
      relErr(matmulRef(L, trsmLower(L, Float32Array.from(B), m, 5), m, m, 5), Float32Array.from(B)) < 1e-12,
      `trsmLower f32 seed ${seed}`,
    );
  }
});

test('cholesky rejects a matrix that is not positive definite with a NUMERIC WoodFisherError', () => {
  assert.throws(
    () => cholesky(Float64Array.from([1, 2, 2, 1]), 2),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'NUMERIC',
  );
});

test('trsmLowerT solves Lᵀ X = B (blocked, several panels) against the float64 back substitution', async () => {
  const { trsmLowerT, solveLowerT } = await import('../../../src/engine/linalg/cholesky');
  const seed = freshSeed(),
    r = rng(seed),
    m = 211,
    n = 7;
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < i; j++) L[i * m + j] = r() - 0.5;
    L[i * m + i] = 2 + r();
  }
  const B = Float64Array.from({ length: m * n }, () => r() - 0.5);
  const X = trsmLowerT(L, B, m, n);
  for (let j = 0; j < n; j++) {
    const x = solveLowerT(
      L,
      Float64Array.from({ length: m }, (_, i) => B[i * n + j]),
      m,
    );
    for (let i = 0; i < m; i++) assert.ok(Math.abs(X[i * n + j] - x[i]) <= 1e-10 * (1 + Math.abs(x[i])), `seed ${seed}: (${i},${j})`);
  }
});
