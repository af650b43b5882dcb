// The scratch pool (linalg/scratch.ts): reused buffers hold stale values, so every user must write before it reads.
// Here the pool is filled with NaN between two builds of the same batch: the results must stay bit-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recycle, scratch, scratchBytes, takeBuffer, zeros } from '../../../src/engine/linalg/scratch';
import { choleskyInverse } from '../../../src/engine/linalg/cholesky';
import { fisherBlockInverses } from '../../../src/engine/fisher/inverse';
import { freshSeed, gradients, rng } from './reference';

test('scratch: a recycled buffer is reused for the same size; views and other sizes are not; zeros() clears it', () => {
  const a = scratch(1000);
  recycle(a);
  const b = scratch(1000);
  assert.equal(b.buffer, a.buffer);
  b.fill(7);
  recycle(b.subarray(1)); // a view: ignored
  assert.notEqual(scratch(1000).buffer, b.buffer);
  recycle(b);
  const z = zeros(1000);
  assert.equal(z.buffer, b.buffer);
  assert.ok(z.every(v => v === 0));
  recycle(z, z); // twice: kept once
  assert.equal(takeBuffer(8000), z.buffer);
  assert.notEqual(takeBuffer(8000), z.buffer);
});

/** Fills every buffer the pool may hand out next with NaN (the sizes a batch of m×m and n×b matrices uses). */
function poison(sizes: number[]): void {
  const taken = sizes.flatMap(len => Array.from({ length: 8 }, () => scratch(len).fill(NaN)));
  recycle(...taken);
  assert.ok(scratchBytes() > 0);
}

test('choleskyInverse and the batched Fisher forms give bit-identical results from a pool of stale (NaN) buffers', () => {
  const seed = freshSeed(),
    r = rng(seed);
  const count = 3,
    n = 20,
    b = 37;
  const G = gradients(r, count * n, b);
  const sizes: number[] = [];
  for (let m = b; m > 1; m = Math.ceil(m / 2))
    for (const k of [m, Math.floor(m / 2), Math.ceil(m / 2)])
      for (const j of [m, Math.floor(m / 2), Math.ceil(m / 2)]) sizes.push(count * k * j);
  for (let m = n; m > 1; m = Math.ceil(m / 2))
    for (const k of [m, Math.floor(m / 2), Math.ceil(m / 2)])
      for (const j of [m, Math.floor(m / 2), Math.ceil(m / 2)]) sizes.push(count * k * j);
  sizes.push(count * n * b, count * b * b, count * n * n);
  for (const form of ['primal', 'dual'] as const) {
    const first = fisherBlockInverses(G, count, n, b, 1e-3, form).map(x => x.cols(Int32Array.from({ length: b }, (_, i) => i)));
    poison([...new Set(sizes)]);
    const again = fisherBlockInverses(G, count, n, b, 1e-3, form).map(x => x.cols(Int32Array.from({ length: b }, (_, i) => i)));
    first.forEach((F, c) => assert.deepEqual(again[c], F, `${form} block ${c}, seed ${seed}`));
    assert.ok(
      first.every(F => F.every(Number.isFinite)),
      `${form}: finite`,
    );
  }
  const A = fisherBlockInverses(G, count, n, b, 1e-3, 'primal');
  assert.equal(A.length, count);
  const S = new Float64Array(count * b * b);
  for (let c = 0; c < count; c++) S.set(A[c].sub(Int32Array.from({ length: b }, (_, i) => i)), c * b * b);
  const one = choleskyInverse(S, b, { count, withL: true });
  poison([...new Set(sizes)]);
  const two = choleskyInverse(S, b, { count, withL: true });
  assert.deepEqual(two.Linv, one.Linv);
  assert.deepEqual(two.L, one.L);
});
