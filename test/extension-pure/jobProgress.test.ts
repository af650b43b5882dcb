// The progress notification's fraction and line: by stage, by epochs, by a sweep's runs (one-shot or gradual).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobProgress } from '../../src/extension/jobProgress';
import type { GradualEvent } from '../../src/protocol';

type StageEvent = Extract<GradualEvent, { type: 'stage' }>;
const train = (epoch: number, epochs: number, batch: number, batches: number): StageEvent => ({
  type: 'stage',
  stage: 'train',
  done: batch,
  total: batches,
  step: epoch,
  steps: epochs,
  message: `epoch ${epoch}/${epochs}`,
});

test('a gradual sweep advances with every epoch of every run, says run, epoch and percent, and never goes back', () => {
  const job = { mode: 'sweep' as const, runs: 4, gradual: true };
  let shown = 0;
  const seen: { fraction: number; message: string }[] = [];
  for (let run = 0; run < 4; run++) {
    for (let epoch = 1; epoch <= 6; epoch++) {
      // a pruning step inside the run: said, the fraction kept
      const step = jobProgress(job, { type: 'stage', stage: 'gradients', done: 8, total: 64, step: 1, steps: 4 }, run, shown);
      assert.equal(step.fraction, shown);
      assert.match(step.message, new RegExp(`^run ${run + 1}/4 · gradients 8/64 \\(step 1/4\\) · ${Math.floor(shown * 100)}%$`));
      const p = jobProgress(job, train(epoch, 6, 16, 16), run, shown);
      assert.ok(p.fraction > shown, `epoch ${epoch} of run ${run + 1} advances: ${p.fraction} after ${shown}`);
      shown = p.fraction;
      seen.push(p);
    }
  }
  assert.equal(seen[0].message, `run 1/4 · epoch 1/6, batch 16/16 · ${Math.floor((100 * 1) / 24)}%`);
  assert.equal(seen[5].message, 'run 1/4 · epoch 6/6, batch 16/16 · 25%');
  assert.equal(seen[6].message, `run 2/4 · epoch 1/6, batch 16/16 · ${Math.floor((100 * 7) / 24)}%`);
  assert.equal(seen.at(-1)!.fraction, 1);
  assert.equal(seen.at(-1)!.message, 'run 4/4 · epoch 6/6, batch 16/16 · 100%');
  // the fraction after each epoch is (epochs done) / (runs × epochs)
  seen.forEach((p, i) => assert.ok(Math.abs(p.fraction - (i + 1) / 24) < 1e-12));
});

test('a one-shot sweep advances by runs and by stage within a run; one run by stage; a gradual run by epochs', () => {
  const sweep = { mode: 'sweep' as const, runs: 2 };
  const a = jobProgress(sweep, { type: 'stage', stage: 'blocks', done: 5, total: 10, layer: 'fc1' }, 0);
  assert.ok(Math.abs(a.fraction - 2.5 / 7 / 2) < 1e-12);
  assert.equal(a.message, `run 1/2 · blocks fc1 5/10 · ${Math.floor((2.5 / 7 / 2) * 100)}%`);
  const b = jobProgress(sweep, { type: 'stage', stage: 'load', done: 0, total: 1 }, 1, a.fraction);
  assert.equal(b.fraction, 0.5);
  assert.equal(b.message, 'run 2/2 · load 0/1 · 50%');
  // a finished sweep stays at its last run
  assert.equal(jobProgress(sweep, { type: 'stage', stage: 'save', done: 1, total: 1 }, 2, b.fraction).fraction, 1);
  // one run: no run count
  assert.equal(jobProgress({ mode: 'prune' }, { type: 'stage', stage: 'save', done: 1, total: 1 }).message, 'save 1/1 · 100%');
  const g = jobProgress({ mode: 'gradual' }, train(3, 12, 8, 16));
  assert.ok(Math.abs(g.fraction - 2.5 / 12) < 1e-12);
  assert.equal(g.message, 'epoch 3/12, batch 8/16 · 20%');
});
