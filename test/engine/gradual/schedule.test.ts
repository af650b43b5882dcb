// The cubic schedule: s_k = s_f + (s_i − s_f)(1 − k/K)³ at t_k = start + k·every, and its checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cubicSparsity, pruningSteps, defaultSchedule } from '../../../src/engine/gradual/schedule';
import { learningRate } from '../../../src/engine/gradual/learningRate';
import { WoodFisherError } from '../../../src/engine/types';

test('pruning steps follow the cubic formula at start, start + every, …, end', () => {
  const sf = 0.95,
    si = 0.1;
  const steps = pruningSteps({ epochs: 12, sparsity: sf, initialSparsity: si, pruneStart: 1, pruneEnd: 7, pruneEvery: 2 }, 10);
  assert.deepEqual(
    steps.map(s => s.epoch),
    [1, 3, 5, 7],
  );
  assert.deepEqual(
    steps.map(s => s.iteration),
    [10, 30, 50, 70],
  );
  const K = 3;
  steps.forEach((s, k) => {
    const want = sf + (si - sf) * (1 - k / K) ** 3;
    assert.ok(Math.abs(s.sparsity - want) < 1e-15, `s_${k} = ${s.sparsity}, want ${want}`);
  });
  assert.equal(steps[0].sparsity, si);
  assert.equal(steps[3].sparsity, sf);
  for (let k = 1; k < steps.length; k++) assert.ok(steps[k].sparsity > steps[k - 1].sparsity, 'monotone');
  // the cubic prunes fastest early: the first gap is the largest
  assert.ok(steps[1].sparsity - steps[0].sparsity > steps[2].sparsity - steps[1].sparsity);
});

test('fractional epochs land on the nearest optimizer step; the last step is exactly prune-end', () => {
  const steps = pruningSteps({ epochs: 2, sparsity: 0.9, initialSparsity: 0, pruneStart: 0.25, pruneEnd: 1.2, pruneEvery: 0.4 }, 7);
  assert.deepEqual(
    steps.map(s => s.epoch),
    [0.25, 0.65, 1.05, 1.2],
  );
  assert.deepEqual(
    steps.map(s => s.iteration),
    [2, 5, 7, 8],
  );
  assert.equal(steps[steps.length - 1].sparsity, 0.9);
});

test('one step when start = end: straight to the target, then fine-tuning', () => {
  const steps = pruningSteps({ epochs: 3, sparsity: 0.8, initialSparsity: 0, pruneStart: 1, pruneEnd: 1, pruneEvery: 0 }, 5);
  assert.equal(steps.length, 1);
  assert.equal(steps[0].sparsity, 0.8);
  assert.equal(cubicSparsity(0.3, 0.8, 0, 0), 0.8);
});

test('defaults: four steps over the first half of the epochs', () => {
  const d = defaultSchedule(12);
  const steps = pruningSteps({ epochs: 12, sparsity: 0.95, ...d }, 100);
  assert.deepEqual(
    steps.map(s => s.epoch),
    [0, 2, 4, 6],
  );
});

test('a schedule that leaves no fine-tuning or runs backwards is refused with one clear line', () => {
  const base = { epochs: 4, sparsity: 0.9, initialSparsity: 0, pruneStart: 0, pruneEnd: 2, pruneEvery: 1 };
  const refuses = (over: object, re: RegExp) =>
    assert.throws(
      () => pruningSteps({ ...base, ...over }, 10),
      (e: unknown) => e instanceof WoodFisherError && re.test(e.message) && !e.message.includes('\n'),
    );
  refuses({ pruneEnd: 4 }, /before the last epoch ends/);
  refuses({ pruneStart: 3 }, /must not come before prune-start/);
  refuses({ pruneEvery: 0 }, /prune-every/);
  refuses({ initialSparsity: 0.95 }, /initial sparsity/);
  refuses({ epochs: 0 }, /epochs/);
  refuses({ sparsity: 1 }, /sparsity/);
});

test('learning-rate schedules: cosine from η₀ to 0, step ×0.1 at ½ and ¾, constant', () => {
  assert.equal(learningRate('cosine', 0.1, 0, 100), 0.1);
  assert.ok(Math.abs(learningRate('cosine', 0.1, 50, 100) - 0.05) < 1e-15);
  assert.ok(Math.abs(learningRate('cosine', 0.1, 100, 100)) < 1e-15);
  assert.equal(learningRate('step', 0.1, 49, 100), 0.1);
  assert.ok(Math.abs(learningRate('step', 0.1, 50, 100) - 0.01) < 1e-15);
  assert.ok(Math.abs(learningRate('step', 0.1, 75, 100) - 0.001) < 1e-15);
  assert.equal(learningRate('constant', 0.1, 75, 100), 0.1);
});
