// kthSmallest against a full sort, on fresh random inputs: distinct values, heavy ties, infinities, tiny arrays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kthSmallest } from '../../src/engine/order';
import { freshSeed, rng } from './linalg/reference';

test('kthSmallest equals the k-th value of the sorted array, for every kind of input, and keeps the values', () => {
  const seed = freshSeed(),
    r = rng(seed);
  const kinds: [string, (n: number) => Float64Array][] = [
    ['distinct', n => Float64Array.from({ length: n }, () => r() * 2 - 1)],
    ['few distinct (ties)', n => Float64Array.from({ length: n }, () => Math.floor(r() * 4))],
    ['all equal', n => new Float64Array(n).fill(3)],
    ['with ±Infinity and ±0', n => Float64Array.from({ length: n }, () => [Infinity, -Infinity, 0, -0, r()][Math.floor(r() * 5)])],
    ['sorted', n => Float64Array.from({ length: n }, (_, i) => i)],
    ['reversed', n => Float64Array.from({ length: n }, (_, i) => n - i)],
  ];
  for (const [kind, make] of kinds) {
    for (const n of [1, 2, 3, 10, 1000, 20_001]) {
      const a = make(n),
        sorted = Float64Array.from(a).sort();
      for (const k of new Set([0, n - 1, Math.floor(n / 2), Math.floor(r() * n)])) {
        const x = Float64Array.from(a);
        assert.ok(kthSmallest(x, k) === sorted[k], `${kind}, n=${n}, k=${k}, seed ${seed}`); // === : −0 and 0 are one value
        assert.deepEqual(x.sort(), sorted, `${kind}, n=${n}: reordered, not changed`);
      }
    }
  }
  assert.throws(() => kthSmallest(new Float64Array(3), 3), RangeError);
  assert.throws(() => kthSmallest(new Float64Array(0), 0), RangeError);
  assert.throws(() => kthSmallest(new Float64Array(3), 0.5), RangeError);
});
