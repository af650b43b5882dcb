import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockRanges, diagFisher, gatherBlock, gatherColumns, meanGradient } from '../../../src/engine/fisher/blocks';
import { WoodFisherError } from '../../../src/engine/types';
import { setGemmBackend } from '../../../src/engine/linalg/gemm';
import { openBlasProvider, openBlasUnavailable } from '../../../src/engine/linalg/accel/openblas';
import { sharedFloat32 } from '../../../src/engine/linalg/scratch';
import { freshSeed, gradients, maxRelErr, rng } from '../linalg/reference';

test('blockRanges: contiguous chunks covering [0, d), last one shorter, none empty', () => {
  assert.deepEqual(blockRanges(10, 4), [
    { start: 0, end: 4 },
    { start: 4, end: 8 },
    { start: 8, end: 10 },
  ]);
  assert.deepEqual(blockRanges(8, 4), [
    { start: 0, end: 4 },
    { start: 4, end: 8 },
  ]);
  assert.deepEqual(blockRanges(3, 1000), [{ start: 0, end: 3 }]);
  assert.deepEqual(blockRanges(0, 5), []);
  assert.throws(
    () => blockRanges(10, 0),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'OPTIONS',
  );
  assert.throws(() => blockRanges(10, 2.5), WoodFisherError);
});

test('gatherBlock copies columns [start, end) of an n×d matrix, reusing out when given', () => {
  const n = 3,
    d = 5;
  const G = Float32Array.from({ length: n * d }, (_, i) => i);
  const X = gatherBlock(G, n, d, { start: 1, end: 4 });
  assert.deepEqual(Array.from(X), [1, 2, 3, 6, 7, 8, 11, 12, 13]);
  const out = new Float64Array(20);
  const Y = gatherBlock(G, n, d, { start: 3, end: 5 }, out);
  assert.equal(Y.buffer, out.buffer);
  assert.deepEqual(Array.from(Y), [3, 4, 8, 9, 13, 14]);
  assert.throws(() => gatherBlock(G, n, d, { start: 4, end: 6 }), WoodFisherError);
});

test('gatherColumns: several blocks of one layer into one buffer, each view equal to gatherBlock; bad ranges refused', () => {
  const n = 4,
    d = 11;
  const G = Float32Array.from({ length: n * d }, (_, i) => i * 0.5);
  const ranges = [
    { start: 0, end: 4 },
    { start: 4, end: 8 },
    { start: 8, end: 11 },
  ];
  const views = gatherColumns(ranges.map(r => ({ rows: G, n, d, ...r })));
  views.forEach((v, i) => assert.deepEqual(v, gatherBlock(G, n, d, ranges[i])));
  assert.ok(
    views.every(v => v.buffer === views[0].buffer),
    'one buffer',
  );
  assert.equal(views[1].byteOffset, views[0].byteLength, 'one after another');
  assert.throws(() => gatherColumns([{ rows: G, n, d, start: 9, end: 12 }]), WoodFisherError);
  assert.throws(() => gatherColumns([{ rows: G.subarray(1), n, d, start: 0, end: 2 }]), WoodFisherError);
});

test(
  "gatherColumns on the OpenBLAS addon's native gather: the same values as the JS copy, for blocks of several layers and widths, shared or not",
  { skip: openBlasUnavailable() },
  () => {
    const r = rng(freshSeed()),
      n = 5;
    const layer = (d: number, shared: boolean) => {
      const rows = shared ? sharedFloat32(n * d) : new Float32Array(n * d);
      rows.set(gradients(r, n, d));
      return { rows, d };
    };
    const a = layer(23, true),
      b = layer(17, false),
      c = layer(9, true);
    // runs of one layer and width, a layer's shorter last block, then another layer of the same width
    const parts = [
      { ...a, start: 0, end: 6 },
      { ...a, start: 6, end: 12 },
      { ...a, start: 12, end: 18 },
      { ...a, start: 18, end: 23 },
      { ...b, start: 0, end: 6 },
      { ...b, start: 6, end: 12 },
      { ...c, start: 3, end: 9 },
    ].map(p => ({ ...p, n }));
    const js = gatherColumns(parts).map(v => v.slice());
    setGemmBackend(openBlasProvider());
    try {
      const native = gatherColumns(parts);
      native.forEach((v, i) => assert.deepEqual(v, js[i], `block ${i}`));
      native.forEach((v, i) => assert.deepEqual(v, gatherBlock(parts[i].rows, n, parts[i].d, parts[i]), `block ${i} against gatherBlock`));
    } finally {
      setGemmBackend();
    }
  },
);

test('diagFisher = λ + mean of squared gradients; meanGradient = column means (float64 reference)', () => {
  const seed = freshSeed(),
    r = rng(seed),
    n = 30,
    d = 17,
    damp = 1e-6;
  const G64 = gradients(r, n, d),
    G = Float32Array.from(G64);
  const ref = new Float64Array(d),
    mean = new Float64Array(d);
  for (let q = 0; q < d; q++) {
    for (let k = 0; k < n; k++) {
      ref[q] += G[k * d + q] ** 2 / n;
      mean[q] += G[k * d + q] / n;
    }
    ref[q] += damp;
  }
  assert.ok(maxRelErr(diagFisher(G, n, d, damp), ref) < 1e-12, `seed ${seed}`);
  assert.ok(maxRelErr(meanGradient(G, n, d), mean) < 1e-10, `seed ${seed}`);
});
