// Blocked Cholesky / triangular solves against float64 references: LLᵀ = A, L·X = B.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { blockedCholesky, blockedTrsmLower, blockedInvLower, NotPositiveDefinite, jsProvider, onnxRuntimeProvider, onnxRuntimeUnavailable, GemmProvider } from '../../../../src/engine/linalg/accel';

function rng(seed: number) { let s = seed >>> 0; return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; }; }

/** A = λI + GᵀG/k with G k×m: SPD, condition about (max eig)/λ. */
function spd(m: number, k: number, lam: number, seed: number): Float64Array {
  const r = rng(seed), G = Float64Array.from({ length: k * m }, r), A = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) { let s = 0; for (let t = 0; t < k; t++) s += G[t * m + i] * G[t * m + j]; A[i * m + j] = s / k; }
  for (let i = 0; i < m; i++) A[i * m + i] += lam;
  return A;
}
const rel = (X: Float64Array, R: Float64Array) => { let a = 0, b = 0; for (let i = 0; i < R.length; i++) { a += (X[i] - R[i]) ** 2; b += R[i] ** 2; } return Math.sqrt(a / b); };
function mulLLt(L: Float64Array, m: number) { const C = new Float64Array(m * m); for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) { let s = 0; for (let t = 0; t <= Math.min(i, j); t++) s += L[i * m + t] * L[j * m + t]; C[i * m + j] = s; } return C; }
function mulL(L: Float64Array, X: Float64Array, m: number, n: number) { const C = new Float64Array(m * n); for (let i = 0; i < m; i++) for (let t = 0; t <= i; t++) for (let j = 0; j < n; j++) C[i * n + j] += L[i * m + t] * X[t * n + j]; return C; }

const providers: [string, () => GemmProvider][] = [['js', jsProvider]];
if (!onnxRuntimeUnavailable()) providers.push(['onnxruntime-f64', () => onnxRuntimeProvider({ precision: 'float64' })]);

for (const [name, make] of providers) {
  test(`${name}: blocked Cholesky reproduces A (sizes around the panel width, λ from 1 to 1e-8)`, () => {
    const g = make();
    for (const [m, nb, lam] of [[1, 4, 1], [5, 4, 1e-2], [37, 8, 1e-5], [130, 64, 1e-8], [64, 64, 1e-3]]) {
      const A = spd(m, Math.max(2, m >> 1), lam, m);
      const L = blockedCholesky(A, m, g, nb);
      for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) assert.equal(L[i * m + j], 0);
      const e = rel(mulLLt(L, m), A);
      assert.ok(e < 1e-13, `m=${m} nb=${nb} λ=${lam}: ‖LLᵀ − A‖/‖A‖ = ${e.toExponential(2)}`);
    }
    g.dispose();
  });

  test(`${name}: blocked triangular solve and inverse`, () => {
    const g = make();
    for (const [m, n, nb] of [[1, 3, 4], [37, 5, 8], [130, 70, 64]]) {
      const L = blockedCholesky(spd(m, m, 1e-2, m + 1), m, g, nb);
      const B = Float64Array.from({ length: m * n }, rng(n));
      const X = blockedTrsmLower(L, B, m, n, g, nb);
      assert.ok(rel(mulL(L, X, m, n), B) < 1e-12);
      const Li = blockedInvLower(L, m, g, nb);
      const I = new Float64Array(m * m); for (let i = 0; i < m; i++) I[i * m + i] = 1;
      assert.ok(rel(mulL(L, Li, m, m), I) < 1e-10);
    }
    g.dispose();
  });
}

test('blocked Cholesky reports the pivot of a matrix that is not positive definite', () => {
  const A = new Float64Array([4, 2, 0, 2, 1, 0, 0, 0, 1]); // rank-deficient leading 2×2
  assert.throws(() => blockedCholesky(A, 3, jsProvider(), 1), (e: unknown) => e instanceof NotPositiveDefinite && e.pivot === 1);
});
