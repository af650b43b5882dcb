// prefault() writes every page of the arrays on a worker thread while this thread writes the same arrays: no value
// this thread wrote may be lost, whichever thread reaches a page first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefault } from '../../../src/engine/linalg/prefault';
import { sharedFloat32 } from '../../../src/engine/linalg/scratch';
import { mulberry32 } from '../../../src/engine/data/random';

test('prefault keeps every value written while it runs, in each shared array, and stops on request', async () => {
  const r = mulberry32(Date.now() % 1e9);
  const arrays = [sharedFloat32(24 * 2 ** 20), sharedFloat32(8 * 2 ** 20 + 3)]; // 96 MiB + 32 MiB: above its threshold
  const views = [arrays[0].subarray(5, arrays[0].length - 7), arrays[1]];
  const expected = views.map(v => Float32Array.from({ length: v.length }, () => r() + 1)); // never 0: a lost write shows
  const p = prefault(views);
  assert.ok(p, 'a thread started for 128 MiB');
  for (let t = 0; p.pages() === 0; t++) {
    assert.ok(t < 1000, 'the thread wrote no page in 10 s');
    await new Promise(res => setTimeout(res, 10));
  }
  // written in chunks, front to back and back to front, while the thread goes front to back: pages ahead of it and behind
  for (let k = 0; k < views.length; k++) {
    const v = views[k],
      e = expected[k],
      chunk = 4099;
    for (let i = 0; i < v.length; i += 2 * chunk) v.set(e.subarray(i, Math.min(v.length, i + chunk)), i);
    for (let i = Math.floor((v.length - 1) / (2 * chunk)) * 2 * chunk + chunk; i > 0; i -= 2 * chunk)
      if (i < v.length) v.set(e.subarray(i, Math.min(v.length, i + chunk)), i);
  }
  await p.stop();
  views.forEach((v, k) => {
    const bad = v.findIndex((x, i) => x !== expected[k][i]);
    assert.equal(bad, -1, `array ${k}: value ${bad} lost`);
  });
  assert.equal(arrays[0][0], 0, 'outside the views: untouched');
  await p.stop(); // a second stop is harmless
});

test('prefault starts nothing for what it cannot or need not touch: arrays outside shared memory, small totals', async () => {
  const plain = new Float32Array(32 * 2 ** 20).fill(2);
  assert.equal(prefault([plain]), undefined);
  assert.ok(plain.every(x => x === 2));
  const small = sharedFloat32(1024).fill(3);
  assert.equal(prefault([small]), undefined);
  assert.ok(small.every(x => x === 3));
});
