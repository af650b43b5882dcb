// The gradient arena: packed views that never overlap, no shared buffer above the cap, and — the reason for the cap —
// a view far into a run's rows reaches a worker thread pointing at the same memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RowArena, SHARED_MAX_BYTES } from '../../../src/engine/linalg/rowArena';

const region = (v: Float32Array) => [v.byteOffset, v.byteOffset + v.byteLength] as const;

function assertDisjoint(views: Float32Array[]) {
  views.forEach((a, i) =>
    views.slice(i + 1).forEach(b => {
      if (a.buffer !== b.buffer) return;
      const [a0, a1] = region(a),
        [b0, b1] = region(b);
      assert.ok(a1 <= b0 || b1 <= a0, 'two views overlap');
    }),
  );
}

test('RowArena packs views into shared chunks of at most the cap; larger ones get memory of their own; reused call after call', () => {
  const arena = new RowArena(100);
  const first = arena.views([30, 50, 40, 150, 20]);
  assert.deepEqual(
    first.map(v => v.length),
    [30, 50, 40, 150, 20],
  );
  assertDisjoint(first);
  for (const [i, v] of first.entries()) {
    if (i === 3) assert.ok(!(v.buffer instanceof SharedArrayBuffer), 'above the cap: not shared');
    else {
      assert.ok(v.buffer instanceof SharedArrayBuffer);
      assert.ok(v.buffer.byteLength <= 400, `chunk of ${v.buffer.byteLength} bytes`);
    }
  }
  const buffers = new Set(first.map(v => v.buffer));
  // the next group: same or smaller needs land in the same memory
  const second = arena.views([60, 40, 20]);
  assertDisjoint(second);
  for (const v of second) assert.ok(buffers.has(v.buffer), 'reused');
});

test('a view beyond 4 GiB of rows reaches a worker intact (pages are mapped only where written)', async () => {
  const arena = new RowArena();
  const layer = SHARED_MAX_BYTES / 4 - 1024; // floats: one layer's rows just under a chunk
  const views = arena.views([layer, layer, layer]); // 6 GiB in all
  assert.ok(views.every(v => v.buffer instanceof SharedArrayBuffer && v.buffer.byteLength <= SHARED_MAX_BYTES));
  const last = views[2].subarray(views[2].length - 8);
  last.set([1, 2, 3, 4, 5, 6, 7, 8]);
  const w = new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', v => { parentPort.postMessage(Array.from(v)); v[0] = 42; });" +
      "parentPort.on('messageerror', e => parentPort.postMessage(String(e)));",
    { eval: true },
  );
  try {
    const got = await new Promise(resolve => {
      w.once('message', resolve);
      w.postMessage(last);
    });
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8]);
    for (let t = 0; last[0] !== 42; t++) {
      assert.ok(t < 500, 'the worker wrote the same memory');
      await new Promise(r => setTimeout(r, 10));
    }
  } finally {
    await w.terminate();
  }
});
