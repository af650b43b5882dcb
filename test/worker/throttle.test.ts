import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventForwarder } from '../../src/worker/throttle';
import type { PruneEvent } from '../../src/engine/types';

const stage = (done: number, s: 'gradients' | 'blocks' = 'gradients'): PruneEvent => ({ type: 'stage', stage: s, done, total: 1000 });

test('stage progress is coalesced (latest wins), other events pass at once and in order', () => {
  const sent: PruneEvent[] = [];
  const f = createEventForwarder<PruneEvent>(e => sent.push(e), 60_000);
  f.push(stage(1)); // first one goes out (nothing sent yet in this interval)
  for (let i = 2; i <= 500; i++) f.push(stage(i)); // coalesced
  f.push({ type: 'log', level: 'info', message: 'x' }); // flushes the pending stage first, then itself
  f.push(stage(10, 'blocks'));
  f.push(stage(20, 'blocks'));
  f.flush();
  f.dispose();
  assert.deepEqual(
    sent.map(e => (e.type === 'stage' ? `${e.stage}:${e.done}` : e.type)),
    ['gradients:1', 'gradients:500', 'log', 'blocks:10', 'blocks:20'],
  );
});

test('the last progress of a finished stage and the first of the next both go out (the host sees a save start)', () => {
  const sent: PruneEvent[] = [];
  const f = createEventForwarder<PruneEvent>(e => sent.push(e), 60_000);
  f.push(stage(1));
  f.push(stage(1000));
  f.push(stage(1, 'blocks'));
  f.push({ type: 'stage', stage: 'save', done: 0, total: 1 });
  f.push({ type: 'stage', stage: 'save', done: 1, total: 1 });
  f.flush();
  f.dispose();
  assert.deepEqual(
    sent.map(e => (e.type === 'stage' ? `${e.stage}:${e.done}` : e.type)),
    ['gradients:1', 'gradients:1000', 'blocks:1', 'save:0', 'save:1'],
  );
});
