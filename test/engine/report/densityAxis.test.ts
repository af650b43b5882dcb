// The log-density axis: equal room per "nine", exact inverse, ticks up to the largest sparsity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { densityTicks, densityX, sparsityAtX, sparsityLabel } from '../../../src/engine/report/densityAxis';

test('x = −log10(1 − s): 0 → 0, 90% → 1, 99% → 2, inverse within 1e-12, monotonic on random sparsities', () => {
  assert.equal(densityX(0), 0);
  assert.ok(Math.abs(densityX(0.9) - 1) < 1e-12 && Math.abs(densityX(0.99) - 2) < 1e-12);
  const s = Array.from({ length: 1000 }, () => Math.random() * 0.9999).sort((a, b) => a - b);
  for (let i = 0; i < s.length; i++) {
    assert.ok(Math.abs(sparsityAtX(densityX(s[i])) - s[i]) < 1e-12);
    if (i) assert.ok(densityX(s[i]) >= densityX(s[i - 1]));
  }
  assert.ok(Number.isFinite(densityX(1)), 's = 1 stays on the axis (floored)');
  // 80–99% gets more than half of a 0–99% axis (a linear axis gives it 19%)
  assert.ok((densityX(0.99) - densityX(0.8)) / densityX(0.99) > 0.6);
});

test('ticks stop at the first round sparsity at or above the largest one plotted', () => {
  assert.deepEqual(densityTicks(0.98), [0, 0.5, 0.8, 0.9, 0.95, 0.98]);
  assert.deepEqual(densityTicks(0.97), [0, 0.5, 0.8, 0.9, 0.95, 0.98]);
  assert.deepEqual(densityTicks(0.5), [0, 0.5]);
  assert.equal(densityTicks(1).at(-1), 0.9999);
  assert.equal(sparsityLabel(0.995), '99.5%');
});
