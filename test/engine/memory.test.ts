import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { planMemory, assertPlanFits, runtimeBytes } from '../../src/engine/memory';
import { inverseBytes } from '../../src/engine/fisher/inverse';
import { PrunableLayer } from '../../src/engine/types';

const dense = (name: string, inp: number, out: number): PrunableLayer => ({
  name,
  kind: 'Dense',
  weightName: `${name}/kernel`,
  shape: [inp, out],
  torchShape: [out, inp],
  size: inp * out,
});
const layers = [dense('fc1', 784, 40), dense('fc2', 40, 20), dense('fc3', 20, 10)];
const d = 784 * 40 + 40 * 20 + 20 * 10;

test('the plan counts gradients N×d float32 and every kept primal block b² float64', () => {
  const p = planMemory({ layers, samples: 1000, blockSize: 1000, method: 'woodfisher', inverseForm: 'primal', limitBytes: 2 ** 40 });
  assert.equal(p.items.find(i => i.what.startsWith('per-sample gradients'))!.bytes, 1000 * d * 4);
  // fc1: 31 full blocks + one of 360; fc2: one block of 800; fc3: one block of 200
  const blocks =
    31 * inverseBytes(1000, 1000, 'primal') +
    inverseBytes(1000, 360, 'primal') +
    inverseBytes(1000, 800, 'primal') +
    inverseBytes(1000, 200, 'primal');
  assert.equal(p.items.find(i => i.what.startsWith('Fisher-inverse blocks, all kept'))!.bytes, blocks);
  assert.equal(
    p.totalBytes,
    p.items.reduce((a, i) => a + i.bytes, 0),
  );
  assert.equal(p.strategy, 'keep');
  assert.ok(p.fits);
});

test('magnitude needs neither gradients nor inverses', () => {
  const p = planMemory({ layers, samples: 1000, blockSize: 1000, method: 'global-magnitude', inverseForm: 'auto', limitBytes: 2 ** 40 });
  assert.ok(!p.items.some(i => /gradients|inverse/i.test(i.what)));
});

test('when kept blocks do not fit, blocks are rebuilt one at a time; when nothing fits, a clear error', () => {
  const keep = planMemory({ layers, samples: 1000, blockSize: 1000, method: 'woodfisher', inverseForm: 'primal', limitBytes: 2 ** 40 });
  const kept = keep.items.find(i => i.what.startsWith('Fisher-inverse blocks, all kept'))!.bytes;
  const tight = planMemory({
    layers,
    samples: 1000,
    blockSize: 1000,
    method: 'woodfisher',
    inverseForm: 'primal',
    limitBytes: keep.totalBytes - kept / 2,
  });
  assert.equal(tight.strategy, 'rebuild');
  assert.ok(tight.fits);
  const none = planMemory({ layers, samples: 1000, blockSize: 1000, method: 'woodfisher', inverseForm: 'primal', limitBytes: 1e6 });
  assert.equal(none.fits, false);
  assert.throws(() => assertPlanFits(none), /needs .* but the limit is .*--samples or --block-size/);
});

test('T block builders hold T scratch areas and T gathered batches of gradient slices (blocks of 1000: one per batch); gradients bring TF.js working memory', () => {
  const one = planMemory({
    layers,
    samples: 1000,
    blockSize: 1000,
    method: 'woodfisher',
    inverseForm: 'primal',
    limitBytes: 2 ** 40,
    threads: 1,
  });
  const two = planMemory({
    layers,
    samples: 1000,
    blockSize: 1000,
    method: 'woodfisher',
    inverseForm: 'primal',
    limitBytes: 2 ** 40,
    threads: 2,
  });
  const item = (p: typeof one, prefix: string) => p.items.find(i => i.what.startsWith(prefix))!.bytes;
  assert.equal(item(two, 'scratch'), 2 * item(one, 'scratch'));
  assert.equal(item(two, 'gradient slices'), 2 * 1000 * 1000 * 4);
  assert.equal(item(one, 'gradient slices'), 1000 * 1000 * 4);
  assert.ok(item(one, 'working memory of one batch') > 0);
});

test('when the N × d gradients do not fit, the plan streams them by layer group from the output back, and says why', () => {
  const base = {
    layers,
    samples: 1000,
    blockSize: 1000,
    method: 'woodfisher' as const,
    inverseForm: 'primal' as const,
    gradientPassBytes: 2 ** 20,
    stream: true,
  };
  const all = planMemory({ ...base, limitBytes: 2 ** 40 });
  assert.equal(all.gradients, 'in memory');
  const rebuild = planMemory({ ...base, limitBytes: all.totalBytes - 1 });
  assert.equal(rebuild.gradients, 'in memory');
  assert.equal(rebuild.strategy, 'rebuild');
  // fc2 + fc3 (1000 × 1000 floats) fit beside the rest, fc1 alone (1000 × 31360) too, all three not
  const grads = 4 * 1000 * d,
    fc1 = 4 * 1000 * 784 * 40;
  const s = planMemory({ ...base, limitBytes: rebuild.totalBytes - grads + fc1 });
  assert.ok(s.fits);
  assert.equal(s.gradients, 'streamed');
  assert.equal(s.strategy, 'rebuild');
  assert.deepEqual(s.groups, [['fc3', 'fc2'], ['fc1']]);
  assert.equal(s.items.find(i => i.what.startsWith('per-sample gradients of one layer group'))!.bytes, fc1);
  assert.match(s.why!, /do not fit under the limit .* 2 layer groups in turn, each twice but the last/);
  // inverse blocks that fit beside one group's gradients are kept: one gradient pass per group
  const two = { ...base, layers: [dense('a', 100, 10), dense('b', 100, 10)], blockSize: 10 };
  const kept = planMemory({ ...two, limitBytes: 2 ** 40 });
  const keptInv = kept.items.find(i => i.what.startsWith('Fisher-inverse blocks, all kept'))!.bytes;
  const sk = planMemory({ ...two, limitBytes: kept.totalBytes - 4 * 1000 * 1000 });
  assert.equal(sk.gradients, 'streamed');
  assert.equal(sk.strategy, 'keep');
  assert.deepEqual(sk.groups, [['b'], ['a']]);
  assert.ok(keptInv > 0 && sk.totalBytes <= sk.limitBytes);
  assert.match(sk.why!, /once each, the inverse blocks kept/);
  // not even fc1's gradients alone: refused, naming the largest layer
  const none = planMemory({ ...base, limitBytes: rebuild.totalBytes - grads + fc1 / 2 });
  assert.equal(none.fits, false);
  assert.match(none.why!, /largest layer alone needs/);
  // callers that cannot stream (gradual, sensitivity) get the in-memory plan, over the limit
  assert.equal(planMemory({ ...base, stream: false, limitBytes: s.limitBytes }).fits, false);
});

test('methods with gradients but no inverse (diagonal Fisher) stream too; the TF.js pass is counted as given', () => {
  const base = {
    layers,
    samples: 1000,
    blockSize: 1000,
    method: 'diagfisher' as const,
    inverseForm: 'auto' as const,
    gradientPassBytes: 3 * 2 ** 20,
    stream: true,
  };
  const all = planMemory({ ...base, limitBytes: 2 ** 40 });
  assert.equal(all.items.find(i => i.what.startsWith('working memory of one batch'))!.bytes, 3 * 2 ** 20);
  const s = planMemory({ ...base, limitBytes: all.totalBytes - 1 });
  assert.equal(s.gradients, 'streamed');
  assert.ok(s.fits);
});

test('the runtime a run starts on is counted (measured once per process); the default limit adds it to half the free RAM', () => {
  const r = runtimeBytes();
  assert.ok(r > 0);
  assert.equal(runtimeBytes(), r, 'measured once: every run in the process counts the same runtime');
  const input = { layers, samples: 100, blockSize: 1000, method: 'woodfisher' as const, inverseForm: 'auto' as const };
  const free0 = os.freemem();
  const p = planMemory({ ...input, runtimeBytes: r });
  const free1 = os.freemem();
  assert.equal(p.items.find(i => i.what.startsWith('the runtime before the run'))?.bytes, r);
  assert.equal(p.totalBytes - planMemory({ ...input, limitBytes: p.limitBytes }).totalBytes, r);
  // what the process holds plus half of what is free (free memory moves between the calls: both ends bound it)
  assert.ok(p.limitBytes >= r + Math.floor(0.5 * Math.min(free0, free1)) && p.limitBytes <= r + Math.floor(0.5 * Math.max(free0, free1)));
  // without it (a caller that does not count the runtime) the limit stays half the free RAM, the plan without that item
  const q = planMemory(input);
  assert.ok(!q.items.some(i => i.what.startsWith('the runtime')));
  assert.ok(q.limitBytes <= Math.floor(0.5 * Math.max(free0, free1, os.freemem())));
  // a limit below the runtime itself: said so, not "lower --samples"
  assert.throws(
    () => assertPlanFits(planMemory({ ...input, runtimeBytes: r, limitBytes: r - 1 })),
    /: the memory limit \(.+\) is below what the runtime holds before the run starts \(.+\); the plan needs .+ in all: raise --max-memory$/,
  );
});
