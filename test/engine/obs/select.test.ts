import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectMasks, type SelectionLayer } from '../../../src/engine/obs/select';
import { WoodFisherError } from '../../../src/engine/types';
import { freshSeed, randn, rng } from '../linalg/reference';

const count = (m: Uint8Array) => m.reduce((a, x) => a + x, 0);
const layer = (name: string, saliency: number[], weights?: number[], extra: Partial<SelectionLayer> = {}): SelectionLayer => ({
  name,
  saliency: Float64Array.from(saliency),
  weights: Float64Array.from(weights ?? saliency.map(() => 1)),
  ...extra,
});

test('global scope prunes exactly round(s·d) weights, the lowest saliencies over all layers', () => {
  const seed = freshSeed(),
    r = rng(seed);
  const layers = [7, 50, 123].map((d, i) => layer(`l${i}`, Array.from(randn(r, d)).map(Math.abs)));
  for (const s of [0, 0.1, 0.5, 0.77, 1]) {
    const { masks, thresholds } = selectMasks(layers, s, 'global');
    assert.equal(
      masks.reduce((a, m) => a + count(m), 0),
      Math.round(s * 180),
      `s=${s} seed ${seed}`,
    );
    const all = layers.flatMap(l => Array.from(l.saliency)).sort((a, b) => a - b);
    const t = Math.max(...thresholds.filter(x => !Number.isNaN(x)));
    if (s > 0) assert.equal(t, all[Math.round(s * 180) - 1]);
    layers.forEach((l, i) =>
      l.saliency.forEach((x, q) => {
        if (x < t) assert.equal(masks[i][q], 1, 'below the threshold: pruned');
        if (x > t) assert.equal(masks[i][q], 0, 'above the threshold: kept');
      }),
    );
    layers.forEach((l, i) => {
      const pruned = Array.from(l.saliency).filter((_, q) => masks[i][q]);
      assert.ok(pruned.length ? thresholds[i] === Math.max(...pruned) : Number.isNaN(thresholds[i]));
    });
  }
});

test('layer scope prunes round(s·d_l) in every layer; overrides and exclusions are honoured in both scopes', () => {
  const seed = freshSeed(),
    r = rng(seed);
  const mk = () => [
    layer('a', Array.from(randn(r, 40)).map(Math.abs)),
    layer('b', Array.from(randn(r, 30)).map(Math.abs), undefined, { sparsity: 0.2 }),
    layer('c', Array.from(randn(r, 10)).map(Math.abs), undefined, { exclude: true }),
    layer('d', Array.from(randn(r, 21)).map(Math.abs)),
  ];
  const L = mk();
  const byLayer = selectMasks(L, 0.5, 'layer').masks.map(count);
  assert.deepEqual(byLayer, [20, 6, 0, Math.round(10.5)]);
  const g = selectMasks(L, 0.5, 'global');
  const gc = g.masks.map(count);
  assert.equal(gc[1], 6, 'override keeps its own target under global scope');
  assert.equal(gc[2], 0, 'excluded layer stays dense');
  assert.ok(Number.isNaN(g.thresholds[2]));
  assert.equal(gc[0] + gc[3], Math.round(0.5 * 61), 'the pooled layers share round(s·d)');
});

test('already-zero weights are pruned first and stay pruned, even beyond the target', () => {
  const sal = [5, 0.1, 0.2, 9, 0.3, 7];
  const w = [0, 1, 1, 0, 1, 0]; // three zeros with high saliency
  const { masks } = selectMasks([layer('a', sal, w)], 4 / 6, 'layer');
  assert.deepEqual(Array.from(masks[0]), [1, 1, 0, 1, 0, 1]); // 3 zeros + the lowest nonzero
  const over = selectMasks([layer('a', sal, w)], 1 / 6, 'global');
  assert.deepEqual(Array.from(over.masks[0]), [1, 0, 0, 1, 0, 1], 'zeros stay pruned though the target is 1');
  const none = selectMasks([layer('a', sal, w, { exclude: true })], 0.5, 'global');
  assert.equal(count(none.masks[0]), 0);
});

test('ties are broken by layer order, then index, and the result is deterministic', () => {
  const L = [layer('a', [1, 0.5, 1, 1]), layer('b', [1, 1, 0.5])];
  const { masks } = selectMasks(L, 4 / 7, 'global'); // 2 at 0.5, then 2 of the five 1s
  assert.deepEqual(
    masks.map(m => Array.from(m)),
    [
      [1, 1, 1, 0],
      [0, 0, 1],
    ],
  );
  const again = selectMasks(L, 4 / 7, 'global');
  assert.deepEqual(again.masks, masks);
});

test('bad sparsity and NaN saliency of a live weight are reported', () => {
  assert.throws(
    () => selectMasks([layer('a', [1, 2])], 1.5, 'global'),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'OPTIONS',
  );
  assert.throws(() => selectMasks([layer('a', [1, 2], undefined, { sparsity: -0.1 })], 0.5, 'layer'), WoodFisherError);
  assert.throws(
    () => selectMasks([layer('a', [NaN, 2])], 0.5, 'global'),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'NUMERIC',
  );
  assert.equal(count(selectMasks([layer('a', [NaN, 2], [0, 1])], 0.5, 'global').masks[0]), 1, 'NaN on a zero weight is harmless');
});

test('N:M keeps the n highest-saliency weights of every group of m, per row; rows not divisible by m stay dense', async () => {
  const { selectNM, parsePattern } = await import('../../../src/engine/obs/select');
  const r = () => Math.random();
  const rows = 6,
    rowLength = 8;
  const weights = Float64Array.from({ length: rows * rowLength }, () => r() + 0.1);
  weights[3] = 0;
  weights[1] = 0;
  weights[2] = 0; // group 0 already has three zeros
  const saliency = Float64Array.from(weights, w => w * w * (1 + r()));
  const odd = {
    name: 'odd',
    weights: Float64Array.from({ length: 18 }, () => r() + 0.1),
    saliency: Float64Array.from({ length: 18 }, r),
    rowLength: 9,
  };
  const { masks, skipped, thresholds } = selectNM([{ name: 'fc', weights, saliency, rowLength }, odd], parsePattern('2:4'));
  for (let g = 0; g < weights.length; g += 4) {
    const kept = [0, 1, 2, 3].filter(j => !masks[0][g + j]);
    if (g === 0) {
      assert.deepEqual(kept, [0]);
      continue;
    }
    assert.equal(kept.length, 2, `group ${g}`);
    const pruned = [0, 1, 2, 3].filter(j => masks[0][g + j]);
    assert.ok(Math.min(...kept.map(j => saliency[g + j])) >= Math.max(...pruned.map(j => saliency[g + j])), `group ${g} keeps its top 2`);
  }
  assert.deepEqual(skipped, ['odd']);
  assert.ok(masks[1].every(v => v === 0));
  assert.ok(thresholds[0] > 0 && Number.isNaN(thresholds[1]));
  assert.throws(() => parsePattern('4:4'), /N:M/);
  assert.throws(() => parsePattern('two:four'), /N:M/);
});

test('global selection caps each layer (no layer collapse): water-filling keeps the total, a cap of 1 lifts it', async () => {
  const { selectMasks } = await import('../../../src/engine/obs/select');
  const r = mulberryLike(7);
  // "head" has saliencies far below everyone else's: unconstrained, 70% global sparsity would take all of it
  const body = {
    name: 'body',
    weights: Float64Array.from({ length: 1000 }, () => r() + 0.1),
    saliency: Float64Array.from({ length: 1000 }, () => 1 + r()),
  };
  const head = {
    name: 'head',
    weights: Float64Array.from({ length: 300 }, () => r() + 0.1),
    saliency: Float64Array.from({ length: 300 }, () => 1e-6 * r()),
  };
  const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
  const free = selectMasks([body, head], 0.7, 'global');
  assert.equal(count(free.masks[1]), 300, 'without a cap the head collapses');
  const capped = selectMasks([body, { ...head, maxSparsity: 0.99 }], 0.7, 'global');
  assert.equal(count(capped.masks[1]), Math.round(0.99 * 300));
  assert.equal(count(capped.masks[0]) + count(capped.masks[1]), Math.round(0.7 * 1300), 'the total target still holds');
  // the head keeps exactly its highest-saliency weights; the body gives its lowest
  const keptHead = [...capped.masks[1].keys()].filter(q => !capped.masks[1][q]).map(q => head.saliency[q]);
  const prunedHeadMax = Math.max(...[...capped.masks[1].keys()].filter(q => capped.masks[1][q]).map(q => head.saliency[q]));
  assert.ok(Math.min(...keptHead) >= prunedHeadMax);
  const bodyKeptMin = Math.min(...[...capped.masks[0].keys()].filter(q => !capped.masks[0][q]).map(q => body.saliency[q]));
  const bodyPrunedMax = Math.max(...[...capped.masks[0].keys()].filter(q => capped.masks[0][q]).map(q => body.saliency[q]));
  assert.ok(bodyKeptMin >= bodyPrunedMax);
  const lifted = selectMasks([body, { ...head, maxSparsity: 1 }], 0.7, 'global');
  assert.deepEqual(lifted.masks, free.masks);
  // several layers over their caps at once, and a target the caps cannot reach: every layer at its cap
  const tiny = {
    name: 'tiny',
    weights: Float64Array.from({ length: 50 }, () => 1),
    saliency: Float64Array.from({ length: 50 }, () => 1e-9),
    maxSparsity: 0.5,
  };
  const all = selectMasks([{ ...body, maxSparsity: 0.9 }, { ...head, maxSparsity: 0.9 }, tiny], 0.95, 'global');
  assert.deepEqual(all.masks.map(count), [900, 270, 25]);
  // per-layer targets are the user's own: no cap there
  const own = selectMasks([body, { ...head, sparsity: 1 - 1e-9, maxSparsity: 0.5 }], 0.5, 'global');
  assert.equal(count(own.masks[1]), 300);
});

function mulberryLike(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
