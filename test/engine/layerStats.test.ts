import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finiteOf, layerResult, logHistogram, spread } from '../../src/engine/layerStats';
import { freshSeed, rng } from './linalg/reference';
import { PrunableLayer } from '../../src/engine/types';

test('the log histogram counts every positive saliency, lumping underflow into the first bin', () => {
  const s = Float64Array.from([0, 1e-95, 1e-90, ...Array.from({ length: 200 }, () => 10 ** (-12 + 4 * Math.random()))]).sort();
  const h = logHistogram(s)!;
  assert.equal(
    h.counts.reduce((a, b) => a + b, 0),
    s.length - 1,
    'all but the zero',
  );
  assert.ok(h.edges[h.edges.length - 1] - h.edges[0] <= 16 + 1e-9, 'at most 16 decades');
  assert.ok(h.counts[0] >= 2, 'the two underflowing saliencies land in the first bin');
  assert.equal(h.edges.length, h.counts.length + 1);
});

test('layerResult counts exact zeros and reports the saliency spread', () => {
  const layer: PrunableLayer = { name: 'fc', kind: 'Dense', weightName: 'fc/kernel', shape: [2, 3], torchShape: [3, 2], size: 6 };
  const r = layerResult(layer, Float64Array.from([0, 1, 0, 2, 3, 0]), Float64Array.from([5, 1, 4, 2, 3, 6]), 4, {
    blocks: 1,
    form: 'dual',
  });
  assert.equal(r.pruned, 3);
  assert.equal(r.sparsity, 0.5);
  assert.deepEqual(r.saliency, { min: 1, median: 4, max: 6 });
  assert.equal(r.threshold, 4);
});

test('spread and the histogram need no sorted input: equal to the sorted computation on fresh random saliencies', () => {
  const seed = freshSeed(),
    r = rng(seed);
  for (const n of [1, 2, 7, 5000]) {
    const s = Float64Array.from({ length: n }, () => [0, NaN, Infinity, 10 ** (-20 * r())][r() < 0.9 ? 3 : Math.floor(r() * 3)]);
    const finite = Float64Array.from(s.filter(Number.isFinite)).sort();
    const at = (q: number) => finite[Math.floor(q * (finite.length - 1) + 0.5)];
    const expected = finite.length ? { min: at(0), median: at(0.5), max: at(1) } : { min: NaN, median: NaN, max: NaN };
    assert.deepEqual(spread(finiteOf(s)), expected, `n=${n} seed ${seed}`);
    assert.deepEqual(logHistogram(s), logHistogram(finite), `histogram n=${n} seed ${seed}`);
  }
});
