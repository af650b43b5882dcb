import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fisherBlockInverse } from '../../../src/engine/fisher/inverse';
import { groupSaliency, groupUpdate, rowAlignedRanges, rowSaliencies, wholeBlockSaliency } from '../../../src/engine/obs/group';
import { denseFisher, freshSeed, gaussJordanInverse, gradients, matvecRef, randn, rng } from '../linalg/reference';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

/** Float64 reference from the dense F: S = [F⁻¹]_QQ, y = S⁻¹w_Q, ρ = ½w_Qᵀy, δw = −F⁻¹E_Q y. */
function reference(F: Float64Array, b: number, w: Float64Array, Q: number[]) {
  const Finv = gaussJordanInverse(F, b),
    k = Q.length,
    S = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) S[i * k + j] = Finv[Q[i] * b + Q[j]];
  const wQ = Q.map(q => w[q]),
    y = matvecRef(gaussJordanInverse(S, k), wQ, k, k);
  const u = new Float64Array(b);
  Q.forEach((q, i) => {
    u[q] = y[i];
  });
  const dw = matvecRef(Finv, u, b, b).map(x => -x);
  return { rho: 0.5 * wQ.reduce((a, x, i) => a + x * y[i], 0), wNew: w.map((x, q) => x + dw[q]), dw };
}

for (const [n, rows, len, form] of [
  [60, 4, 9, 'primal'],
  [12, 5, 8, 'dual'],
  [30, 3, 7, 'recursive'],
] as const) {
  test(`group OBS (${form}, N=${n}, ${rows} rows of ${len}): saliency and update match the float64 formula; ρ_Q = ½δwᵀFδw`, () => {
    const seed = freshSeed(),
      r = rng(seed),
      b = rows * len,
      damp = 1e-4;
    const G = gradients(r, n, b),
      w = randn(r, b, 0.1),
      F = denseFisher(G, n, b, damp);
    const inv = fisherBlockInverse(G, n, b, damp, form);
    const sal = rowSaliencies(w, len, inv);
    for (let row = 0; row < rows; row++) {
      const Q = Array.from({ length: len }, (_, i) => row * len + i);
      const ref = reference(F, b, w, Q);
      assert.ok(rel(sal[row], ref.rho) < 1e-7, `row ${row} saliency ${sal[row]} vs ${ref.rho}, seed ${seed}`);
      assert.ok(rel(groupSaliency(w, Int32Array.from(Q), inv), ref.rho) < 1e-7, `seed ${seed}`);
      // the saliency is the quadratic loss increase of the optimal update that zeroes the group
      const Fdw = matvecRef(F, ref.dw, b, b);
      assert.ok(rel(0.5 * ref.dw.reduce((a, x, q) => a + x * Fdw[q], 0), ref.rho) < 1e-6, `½δwᵀFδw = ρ, seed ${seed}`);
    }
    const pruned = [0, rows - 1];
    const Q = pruned.flatMap(p => Array.from({ length: len }, (_, i) => p * len + i));
    const ref = reference(F, b, w, Q),
      out = groupUpdate(w, len, pruned, inv);
    let num = 0,
      den = 0;
    for (let q = 0; q < b; q++) {
      num += (out[q] - ref.wNew[q]) ** 2;
      den += ref.wNew[q] ** 2;
    }
    assert.ok(Math.sqrt(num / den) < 1e-7, `update rel err ${Math.sqrt(num / den)}, seed ${seed}`);
    for (const q of Q) assert.ok(Object.is(out[q], 0), `pruned weight ${q} exactly 0`);
  });
}

test('a block that is one group: ½wᵀFw without an inverse equals the group saliency over the whole block', () => {
  const seed = freshSeed(),
    r = rng(seed),
    n = 15,
    b = 11,
    damp = 1e-3,
    G = gradients(r, n, b),
    w = randn(r, b, 0.1);
  const ref = reference(
    denseFisher(G, n, b, damp),
    b,
    w,
    Array.from({ length: b }, (_, i) => i),
  ).rho;
  assert.ok(rel(wholeBlockSaliency(G, n, w, damp), ref) < 1e-8, `seed ${seed}`);
  assert.ok(rel(rowSaliencies(w, b, fisherBlockInverse(G, n, b, damp, 'dual'))[0], ref) < 1e-7, `seed ${seed}`);
});

test('a zero row has saliency 0; no inverse means the rows are only zeroed', () => {
  const seed = freshSeed(),
    r = rng(seed),
    n = 10,
    b = 12,
    G = gradients(r, n, b),
    w = randn(r, b);
  w.fill(0, 4, 8);
  const sal = rowSaliencies(w, 4, fisherBlockInverse(G, n, b, 1e-3, 'dual'));
  assert.equal(sal[1], 0);
  assert.ok(sal[0] > 0 && sal[2] > 0);
  const out = groupUpdate(w, 4, [2], null);
  assert.deepEqual([...out.subarray(0, 8)], [...w.subarray(0, 8)]);
  assert.deepEqual([...out.subarray(8)], [0, 0, 0, 0]);
});

test('row-aligned blocks hold whole rows (one row when a row is longer than B)', () => {
  assert.deepEqual(rowAlignedRanges(30, 10, 25), [
    { start: 0, end: 20 },
    { start: 20, end: 30 },
  ]);
  assert.deepEqual(rowAlignedRanges(30, 10, 7), [
    { start: 0, end: 10 },
    { start: 10, end: 20 },
    { start: 20, end: 30 },
  ]);
  assert.deepEqual(rowAlignedRanges(30, 10, 1000), [{ start: 0, end: 30 }]);
  assert.throws(() => rowAlignedRanges(31, 10, 100), /no rows of 10/);
});
