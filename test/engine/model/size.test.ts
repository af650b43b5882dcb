// Download sizes: the parallel (libuv pool) compression gives the bytes of the one-file-at-a-time sync calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliSize, gzipSize, sizeOf } from '../../../src/engine/model/size';
import { freshSeed, rng } from '../linalg/reference';

test('sizeOf: raw, gzip and brotli of several files equal the sync one-by-one figures; brotli skipped when asked', async () => {
  const seed = freshSeed(),
    r = rng(seed);
  const files = [
    new TextEncoder().encode(JSON.stringify({ format: 'layers-model', weights: Array.from({ length: 500 }, (_, i) => `w${i}`) })),
    Uint8Array.from({ length: 300_000 }, () => Math.floor(r() * 256)), // incompressible
    Uint8Array.from({ length: 200_000 }, () => (r() < 0.7 ? 0 : Math.floor(r() * 256))), // pruned: mostly zeros
    new Uint8Array(0),
  ];
  const expected = {
    raw: files.reduce((a, f) => a + f.length, 0),
    gzip: files.reduce((a, f) => a + gzipSize(f), 0),
    brotli: files.reduce((a, f) => a + brotliSize(f), 0),
    files: 4,
  };
  assert.deepEqual(await sizeOf(files), expected, `seed ${seed}`);
  assert.deepEqual(await sizeOf(files, { brotli: false }), { ...expected, brotli: NaN });
  assert.ok(expected.gzip < expected.raw, 'the zeros compress');
});

test('sizeOf: many files from several callers at once (more than run at a time) each get their own sums', async () => {
  const seed = freshSeed(),
    r = rng(seed);
  const sets = [0, 1, 2].map(k =>
    Array.from({ length: 5 }, () =>
      Uint8Array.from({ length: 20_000 + Math.floor(r() * 20_000) }, () => (r() < 0.3 * k ? 0 : (r() * 256) | 0)),
    ),
  );
  const got = await Promise.all(sets.map(files => sizeOf(files)));
  sets.forEach((files, k) => {
    assert.equal(
      got[k].gzip,
      files.reduce((a, f) => a + gzipSize(f), 0),
      `set ${k} gzip, seed ${seed}`,
    );
    assert.equal(
      got[k].brotli,
      files.reduce((a, f) => a + brotliSize(f), 0),
      `set ${k} brotli, seed ${seed}`,
    );
  });
});
