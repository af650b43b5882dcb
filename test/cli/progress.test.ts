import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createProgress } from '../../src/cli/progress';
import { reportFailure, UsageError } from '../../src/cli/errors';
import { Interrupted } from '../../src/cli/abort';
import { WoodFisherError } from '../../src/engine/types';
import { stageLabel } from '../../src/engine/stages';

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', d => (text += d));
  return { stream, text: () => text };
}

test('plain-line progress prints one line per stage/layer, warnings, notes; quiet prints nothing', () => {
  const c = collect();
  const p = createProgress('lines', c.stream);
  p.note('run 1/2: woodfisher at 90%');
  p.onEvent({ type: 'stage', stage: 'gradients', done: 0, total: 64 });
  p.onEvent({ type: 'stage', stage: 'gradients', done: 32, total: 64 });
  p.onEvent({ type: 'stage', stage: 'gradients', done: 64, total: 64 });
  p.onEvent({ type: 'stage', stage: 'blocks', layer: 'fc1', done: 0, total: 32, step: 1, steps: 2 });
  p.onEvent({ type: 'stage', stage: 'blocks', layer: 'fc2', done: 0, total: 1, step: 1, steps: 2 });
  p.onEvent({ type: 'log', level: 'warn', message: 'only 50 samples' });
  p.stop();
  assert.deepEqual(c.text().split('\n').filter(Boolean), [
    'run 1/2: woodfisher at 90%',
    'gradients (64)',
    'blocks fc1 (step 1/2) (32)',
    'blocks fc2 (step 1/2) (1)',
    'warn: only 50 samples',
  ]);
  const q = collect();
  const quiet = createProgress('quiet', q.stream);
  quiet.note('x');
  quiet.onEvent({ type: 'log', level: 'warn', message: 'y' });
  assert.equal(q.text(), '');
});

test('a stage message names its phase: streamed gradients print one line per layer group, λ search its own', () => {
  const c = collect();
  const p = createProgress('lines', c.stream, { timer: false });
  p.onEvent({ type: 'stage', stage: 'gradients', done: 0, total: 64, message: 'choosing λ' });
  p.onEvent({ type: 'stage', stage: 'gradients', done: 64, total: 64, message: 'choosing λ' });
  for (const g of ['layer group 1 of 2 (3 layers)', 'layer group 2 of 2 (1 layer)']) {
    p.onEvent({ type: 'stage', stage: 'gradients', done: 0, total: 64, message: g });
    p.onEvent({ type: 'stage', stage: 'gradients', done: 64, total: 64, message: g });
  }
  p.stop();
  assert.deepEqual(c.text().split('\n').filter(Boolean), [
    'gradients — choosing λ (64)',
    'gradients — layer group 1 of 2 (3 layers) (64)',
    'gradients — layer group 2 of 2 (1 layer) (64)',
  ]);
});

test('failures map to one line and exit codes: usage 2, engine 1, cancelled 130 (SIGINT) or 143 (SIGTERM)', () => {
  let out = '';
  const w = (s: string) => (out += s);
  assert.equal(reportFailure(new UsageError('bad flag'), w), 2);
  assert.equal(reportFailure(new WoodFisherError('model.json: no\nsuch file', 'MODEL_PATH'), w), 1);
  assert.equal(reportFailure(new WoodFisherError('pruning was cancelled', 'CANCELLED'), w), 130);
  assert.equal(reportFailure(new TypeError('boom'), w), 1);
  // a signal's cancel exits as the shell reports that signal: 128 + its number; what the run kept is said
  assert.equal(reportFailure(new Interrupted('SIGINT', 'pruning was cancelled'), w), 130);
  assert.equal(reportFailure(new Interrupted('SIGTERM', 'Cancelled'), w), 143);
  assert.equal(reportFailure(new Interrupted('SIGTERM', 'gradual pruning was cancelled; the checkpoint after epoch 2 is in /o'), w), 143);
  assert.deepEqual(out.split('\n').filter(Boolean), [
    'error: bad flag',
    'error: model.json: no such file',
    'cancelled',
    'error: boom (set WOODFISHER_DEBUG=1 for details)',
    'cancelled',
    'cancelled',
    'gradual pruning was cancelled; the checkpoint after epoch 2 is in /o',
  ]);
});

test('plain-line progress: a line with count, rate and ETA every few seconds of a stage, also between events', async () => {
  const c = collect();
  let t = 0;
  const p = createProgress('lines', c.stream, { every: 5, now: () => t, timer: false });
  p.onEvent({ type: 'stage', stage: 'gradients', done: 0, total: 128 });
  t = 2;
  p.onEvent({ type: 'stage', stage: 'gradients', done: 8, total: 128 }); // < 5 s since the last line: quiet
  t = 6;
  p.onEvent({ type: 'stage', stage: 'gradients', done: 24, total: 128 }); // 24 samples in 6 s: 4/s, 104 left: 26 s
  t = 12;
  p.onEvent({ type: 'stage', stage: 'gradients', done: 120, total: 128 }); // 20/s, 8 left
  t = 13;
  p.onEvent({ type: 'stage', stage: 'blocks', layer: 'fc1', done: 0, total: 3 });
  p.stop();
  assert.deepEqual(c.text().split('\n').filter(Boolean), [
    'gradients (128)',
    '  gradients: 24/128, 4.0 samples/s, ETA 26s',
    '  gradients: 120/128, 10 samples/s, ETA 1s',
    'blocks fc1 (3)',
  ]);

  // the timer prints although no event arrives (one slow batch of a big model)
  const d = collect();
  let u = 0;
  const q = createProgress('lines', d.stream, { every: 0.05, now: () => u });
  q.onEvent({ type: 'stage', stage: 'gradients', done: 0, total: 512 });
  u = 1;
  q.onEvent({ type: 'stage', stage: 'gradients', done: 0, total: 512 });
  u = 2;
  await new Promise(r => setTimeout(r, 200));
  q.stop();
  assert.match(d.text(), /gradients: 0\/512, 0\.0 samples\/s/);
});

test('plain-line progress: a stage run layer by layer is one line and then count, rate, ETA and layer every few seconds', () => {
  const c = collect();
  let t = 0;
  const p = createProgress('lines', c.stream, { every: 5, now: () => t, timer: false });
  // 60 layers of 50 blocks, two threads: their events interleave at the layers' edges
  const layers = Array.from({ length: 60 }, (_, i) => `conv_${i}`);
  let all = 0;
  const order = layers.flatMap(layer => Array.from({ length: 50 }, (_, b) => ({ layer, done: b + 1 })));
  for (let i = 50; i < order.length; i += 50) [order[i - 1], order[i]] = [order[i], order[i - 1]]; // one thread ahead
  for (const stage of ['blocks', 'update'] as const) {
    all = 0;
    for (const { layer, done } of order) {
      t += 0.01; // 100 blocks/s
      p.onEvent({ type: 'stage', stage, layer, done, total: 50, step: 1, steps: 2, overall: { done: ++all, total: 3000 } });
    }
  }
  p.stop();
  const lines = c.text().split('\n').filter(Boolean);
  // one header per stage, not one per layer
  const headers = lines.filter(l => !l.startsWith('  '));
  assert.deepEqual(headers, ['blocks (step 1/2) (3000)', 'update (step 1/2) (3000)']);
  const statuses = lines.filter(l => l.startsWith('  blocks (step 1/2): '));
  // 30 s of blocks at one line per 5 s
  assert.ok(statuses.length >= 5 && statuses.length <= 6, statuses.join('\n'));
  assert.match(statuses[0], /^ {2}blocks \(step 1\/2\): \d+\/3000, 100 blocks\/s, ETA \d+s, at conv_\d+$/);
  const done = statuses.map(l => Number(/: (\d+)\//.exec(l)![1]));
  assert.deepEqual(
    done,
    [...done].sort((a, b) => a - b),
    'the count only grows',
  );
});

test('a stage label counts steps once: the message that names them replaces "(step k/K)"', () => {
  const train = { type: 'stage', stage: 'train', done: 5, total: 16, step: 3, steps: 6, message: 'epoch 3/6' } as const;
  assert.equal(stageLabel(train), 'train 5/16 — epoch 3/6');
  assert.equal(stageLabel(train, { message: false }), 'train 5/16 (step 3/6)');
  assert.equal(stageLabel({ ...train, message: 'epoch 13/60' }), 'train 5/16 (step 3/6) — epoch 13/60', 'a longer count is another count');
  const blocks = { type: 'stage', stage: 'blocks', layer: 'fc1', done: 12, total: 40, step: 2, steps: 3, message: 'primal' } as const;
  assert.equal(stageLabel(blocks), 'blocks fc1 12/40 (step 2/3) — primal');
});
