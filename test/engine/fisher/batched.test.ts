// Batched Fisher blocks: one fisherBlockInverses call for many blocks equals each block alone and the float64
// reference; the block runners (inline and worker threads) batch transparently and give bit-identical results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fisherBlockInverse, fisherBlockInverses, blocksPerBatch, inversePeakBytes } from '../../../src/engine/fisher/inverse';
import { blockPool, forEachBounded, inlineRunner, type BlockRunner } from '../../../src/engine/fisher/blockPool';
import { Kept, type BuildJob, type UpdateJob } from '../../../src/engine/fisher/blockJobs';
import { choleskyInverse } from '../../../src/engine/linalg/cholesky';
import { releaseGemm, useFastestGemm } from '../../../src/engine/linalg/fastest';
import { concatenated, sharedFloat32 } from '../../../src/engine/linalg/scratch';
import {
  denseFisher,
  freshSeed,
  gaussJordanInverse,
  gradients,
  matmulRef,
  maxRelErr,
  randn,
  relErr,
  rng,
  transpose,
} from '../linalg/reference';

test('choleskyInverse: L⁻¹ and L of a batch of SPD matrices (odd sizes, several recursion levels) match Gauss-Jordan', () => {
  const seed = freshSeed(),
    r = rng(seed);
  for (const [m, count] of [
    [1, 3],
    [17, 2],
    [45, 5],
    [130, 2],
  ]) {
    const A = new Float64Array(count * m * m);
    for (let c = 0; c < count; c++) {
      const X = randn(r, m * m),
        S = matmulRef(transpose(X, m, m), X, m, m, m);
      for (let i = 0; i < m; i++) S[i * m + i] += m * 0.1;
      A.set(S, c * m * m);
    }
    const { L, Linv } = choleskyInverse(A, m, { count, withL: true });
    for (let c = 0; c < count; c++) {
      const Ac = A.subarray(c * m * m, (c + 1) * m * m),
        Lc = L!.subarray(c * m * m, (c + 1) * m * m);
      const Xc = Linv.subarray(c * m * m, (c + 1) * m * m);
      assert.ok(relErr(matmulRef(Lc, transpose(Lc, m, m), m, m, m), Ac) < 1e-13, `LLᵀ m=${m} seed ${seed}`);
      assert.ok(relErr(Xc, gaussJordanInverse(Lc, m)) < 1e-10, `L⁻¹ m=${m} seed ${seed}`);
      for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) assert.equal(Xc[i * m + j], 0);
    }
  }
});

test('fisherBlockInverses: a batch equals each block alone and the float64 reference (primal, dual, with and without the stable-diagonal fix-up)', () => {
  const seed = freshSeed(),
    r = rng(seed);
  for (const [n, b, count] of [
    [20, 60, 5],
    [64, 64, 4],
    [100, 40, 3],
    [7, 33, 6],
  ]) {
    const G = new Float64Array(count * n * b);
    for (let c = 0; c < count; c++) G.set(gradients(r, n, b), c * n * b);
    for (const form of ['primal', 'dual'] as const) {
      for (const damp of [1e-2, 1e-7]) {
        const batch = fisherBlockInverses(G, count, n, b, damp, form);
        assert.equal(batch.length, count);
        for (let c = 0; c < count; c++) {
          const Gc = G.subarray(c * n * b, (c + 1) * n * b);
          const alone = fisherBlockInverse(Gc, n, b, damp, form);
          const why = `${form} n=${n} b=${b} λ=${damp} block ${c} seed ${seed}`;
          assert.ok(maxRelErr(batch[c].diag(), alone.diag()) < 1e-9, `batch vs alone ${why}`);
          const Fi = gaussJordanInverse(denseFisher(Gc, n, b, damp), b);
          const ref = Float64Array.from({ length: b }, (_, q) => Fi[q * b + q]);
          const tol = damp === 1e-2 ? 1e-8 : 1e-4; // λ = 1e-7: Gauss-Jordan itself is the weaker reference
          assert.ok(maxRelErr(batch[c].diag(), ref) < tol, `diag vs reference ${why}`);
          const v = randn(r, b);
          assert.ok(relErr(batch[c].mul(v), matmulRef(Fi, v, b, b, 1)) < tol, `mul ${why}`);
        }
      }
    }
  }
});

test('blocksPerBatch: many small blocks per batch, big blocks alone, bounded scratch', () => {
  assert.ok(blocksPerBatch(128, 128, 'auto') >= 16);
  assert.equal(blocksPerBatch(1000, 1000, 'auto'), 1);
  assert.equal(blocksPerBatch(128, 128, 'recursive'), 1);
  for (const [n, b] of [
    [128, 128],
    [256, 1000],
    [32, 100],
    [1000, 64],
  ]) {
    const k = blocksPerBatch(n, b, 'auto'),
      f = n < b ? 'dual' : 'primal';
    assert.ok(k === 1 || k * inversePeakBytes(n, b, f) <= 32 * 2 ** 20, `${n}×${b}`);
  }
});

/** Blocks of mixed sizes (as layers cut into blocks give: a short last block per layer), built then updated.
 *  `columns`: the jobs carry where their gradients lie in one n×d "layer" (GradientColumns, gathered per batch by the
 *  runner) instead of their own matrices; 'shared': that layer in shared memory, as a run's gradients (block threads
 *  gather their batches themselves). `group`: a job is a run of up to that many consecutive
 *  blocks of one size (as step.ts's jobRefs), its results split back into blocks here. */
async function runAll(
  runner: BlockRunner,
  sizes: number[],
  n: number,
  seed: number,
  keep: boolean,
  columns: boolean | 'shared' = false,
  group = 1,
) {
  const r = rng(seed);
  const blocks = sizes.map((b, id) => ({
    id,
    b,
    G: Float32Array.from(gradients(r, n, b)),
    w: randn(r, b),
    mask: Uint8Array.from({ length: b }, () => (r() < 0.6 ? 1 : 0)),
  }));
  const d = sizes.reduce((a, b) => a + b, 0),
    rows = columns === 'shared' ? sharedFloat32(n * d) : new Float32Array(n * d),
    starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  blocks.forEach((k, i) => {
    for (let row = 0; row < n; row++) rows.set(k.G.subarray(row * k.b, (row + 1) * k.b), row * d + starts[i]);
  });
  type Block = (typeof blocks)[number];
  const jobs: Block[][] = [];
  for (const k of blocks) {
    const last = jobs[jobs.length - 1];
    if (last && last.length < group && last[0].b === k.b) last.push(k);
    else jobs.push([k]);
  }
  const G = (ks: Block[]) =>
    columns ? { rows, n, d, start: starts[ks[0].id], end: starts[ks[0].id] + ks.length * ks[0].b } : concatenated(ks.map(k => k.G));
  const split = (x: Float64Array, ks: Block[], into: Float64Array[]) =>
    ks.forEach((k, i) => (into[k.id] = x.slice(i * k.b, (i + 1) * k.b)));
  const saliency: Float64Array[] = [],
    forms: string[] = [],
    updated: Float64Array[] = [];
  try {
    await forEachBounded(jobs, Math.ceil(runner.capacity / group), async ks => {
      const job: BuildJob = {
        op: 'build',
        id: ks[0].id,
        G: G(ks),
        n,
        b: ks[0].b,
        blocks: ks.length,
        damp: 1e-4,
        form: 'auto',
        w: concatenated(ks.map(k => k.w)),
        taylor: false,
        keep,
      };
      const res = await runner.build(job);
      split(res.saliency, ks, saliency);
      for (const k of ks) forms[k.id] = res.form;
    });
    await forEachBounded(jobs, Math.ceil(runner.capacity / group), async ks => {
      const job: UpdateJob = {
        op: 'update',
        id: ks[0].id,
        w: concatenated(ks.map(k => k.w)),
        mask: concatenated(ks.map(k => k.mask)),
        kind: 'independent',
        rebuild: keep ? undefined : { G: G(ks), n, b: ks[0].b, blocks: ks.length, damp: 1e-4, form: 'auto' },
      };
      split((await runner.update(job)).w, ks, updated);
    });
  } finally {
    await runner.close();
  }
  return { blocks, saliency, forms, updated };
}

test('block runners batch transparently: inline and 2 threads, kept or rebuilt inverses, gradients sent, gathered per batch or gathered by the threads from shared rows, jobs of one block or runs of blocks, are bit-identical and match each block alone', async () => {
  useFastestGemm(); // as runPrune does: the main thread and the worker threads use the same products
  const seed = freshSeed(),
    n = 24;
  const sizes = [...Array(37).fill(30), 11, ...Array(20).fill(30), 7, 30];
  const batch = 8;
  const one = await runAll(inlineRunner(batch), sizes, n, seed, true);
  const two = await runAll(blockPool(2, batch), sizes, n, seed, true);
  const rebuilt = await runAll(blockPool(2, batch), sizes, n, seed, false);
  const gathered = await runAll(inlineRunner(batch), sizes, n, seed, false, true);
  const gathered2 = await runAll(blockPool(2, batch), sizes, n, seed, true, true);
  const runs = await runAll(inlineRunner(batch), sizes, n, seed, false, true, 3);
  const runs2 = await runAll(blockPool(2, batch), sizes, n, seed, true, false, 5);
  const shared2 = await runAll(blockPool(2, batch), sizes, n, seed, true, 'shared', 3);
  const sharedRebuilt2 = await runAll(blockPool(2, batch), sizes, n, seed, false, 'shared');
  const sharedInline = await runAll(inlineRunner(batch), sizes, n, seed, false, 'shared', 3);
  for (let id = 0; id < sizes.length; id++) {
    for (const [what, x] of [
      ['shared rows gathered by the threads, jobs of 3 blocks, 2 threads, kept', shared2],
      ['shared rows gathered by the threads, 2 threads, rebuilt', sharedRebuilt2],
      ['shared rows, jobs of 3 blocks, inline, rebuilt', sharedInline],
      ['inline, rebuilt', gathered],
      ['2 threads, kept', gathered2],
      ['jobs of 3 blocks, inline, rebuilt', runs],
      ['jobs of 5 blocks sent as matrices, 2 threads, kept', runs2],
    ] as const) {
      assert.deepEqual(x.saliency[id], one.saliency[id], `gathered per batch (${what}): saliency block ${id} seed ${seed}`);
      assert.deepEqual(x.updated[id], one.updated[id], `gathered per batch (${what}): update block ${id} seed ${seed}`);
    }
    assert.deepEqual(two.saliency[id], one.saliency[id], `saliency block ${id} seed ${seed}`);
    assert.deepEqual(two.updated[id], one.updated[id], `update block ${id} seed ${seed}`);
    assert.deepEqual(rebuilt.updated[id], one.updated[id], `rebuilt update block ${id} seed ${seed}`);
    const k = one.blocks[id];
    const alone = fisherBlockInverse(k.G, n, k.b, 1e-4);
    assert.equal(one.forms[id], alone.form);
    const ref = alone.diag().map((d, q) => (k.w[q] * k.w[q]) / (2 * d));
    assert.ok(maxRelErr(one.saliency[id], ref) < 1e-9, `saliency vs alone, block ${id} seed ${seed}`);
    for (let q = 0; q < k.b; q++) if (k.mask[q]) assert.equal(one.updated[id][q], 0);
  }
});

test('the inline runner builds many small blocks with one product call per batch, not one per block', async () => {
  const { setGemmBackend, jsBackend } = await import('../../../src/engine/linalg/gemm');
  let grams = 0;
  setGemmBackend({
    gramRows: (A, m, k, c) => {
      grams++;
      return jsBackend.gramRows(A, m, k, c);
    },
  });
  try {
    const sizes = Array(40).fill(30);
    await runAll(inlineRunner(10), sizes, 24, 1, true); // n = 24 < b = 30: dual, one K = GGᵀ per batch
    assert.equal(grams, 4);
  } finally {
    setGemmBackend();
  }
});

test("a batch's inverse storage is recycled only when none of its blocks is still kept: kept inverses stay intact", async () => {
  const { buildBlocks, updateBlocks } = await import('../../../src/engine/fisher/blockJobs');
  (await import('../../../src/engine/linalg/scratch')).releaseScratch(); // a full pool would drop what is recycled
  const seed = freshSeed(),
    r = rng(seed),
    [n, b] = [24, 16]; // primal: R = L⁻¹ of a batch comes from the scratch pool
  const block = (id: number) => ({ id, G: Float32Array.from(gradients(r, n, b)), w: randn(r, b) });
  const kept4 = [0, 1, 2, 3].map(block),
    other4 = [10, 11, 12, 13].map(block);
  const build = (k: ReturnType<typeof block>, keep: boolean): BuildJob => ({
    op: 'build',
    id: k.id,
    G: k.G.slice(),
    n,
    b,
    damp: 1e-4,
    form: 'auto',
    w: k.w.slice(),
    taylor: false,
    keep,
  });
  const mask = Uint8Array.from({ length: b }, (_, q) => (q % 3 === 0 ? 1 : 0));
  const update = (k: ReturnType<typeof block>): UpdateJob => ({ op: 'update', id: k.id, w: k.w.slice(), mask, kind: 'independent' });
  // reference: the four built together and updated together
  const ref = new Kept();
  buildBlocks(
    kept4.map(k => build(k, true)),
    ref,
  );
  const expected = updateBlocks(kept4.map(update), ref).map(u => u.w);
  // the same four, updated one first; a batch built in between (not kept) takes whatever the pool holds
  const kept = new Kept();
  buildBlocks(
    kept4.map(k => build(k, true)),
    kept,
  );
  const first = updateBlocks([update(kept4[0])], kept)[0].w;
  buildBlocks(
    other4.map(k => build(k, false)),
    new Kept(),
  );
  buildBlocks(
    other4.map(k => build(k, false)),
    new Kept(),
  );
  const rest = updateBlocks(kept4.slice(1).map(update), kept).map(u => u.w);
  assert.deepEqual([first, ...rest], expected, `seed ${seed}`);
  assert.equal(kept.size, 0);
});

test('jobs whose gradients are matrices in shared memory reach the block threads (shared memory is posted, never moved) and give the inline bits', async () => {
  releaseGemm(); // tests above left their own backends installed: this thread gets what the block threads get
  useFastestGemm();
  const seed = freshSeed(),
    r = rng(seed),
    [n, b] = [12, 20];
  const blocks = Array.from({ length: 9 }, (_, id) => {
    const G = sharedFloat32(n * b);
    G.set(gradients(r, n, b));
    return { id, G, w: randn(r, b) };
  });
  const saliencies = async (runner: BlockRunner) => {
    try {
      return await Promise.all(
        blocks.map(async k => {
          const job: BuildJob = {
            op: 'build',
            id: k.id,
            G: k.G,
            n,
            b,
            damp: 1e-3,
            form: 'auto',
            w: k.w.slice(),
            taylor: false,
            keep: false,
          };
          return (await runner.build(job)).saliency;
        }),
      );
    } finally {
      await runner.close();
    }
  };
  const two = await saliencies(blockPool(2, 4));
  const one = await saliencies(inlineRunner(4));
  assert.deepEqual(two, one, `seed ${seed}`);
  assert.ok(
    blocks.every(k => k.G.length === n * b),
    'the shared gradients are still readable here',
  );
});

test('Kept: a batch buffer is held while any of its blocks is kept, released when the last is taken; taking twice gives nothing', () => {
  const seed = freshSeed(),
    r = rng(seed),
    [n, b] = [8, 20];
  const G = new Float64Array(4 * n * b);
  for (let c = 0; c < 4; c++) G.set(gradients(r, n, b), c * n * b);
  const invs = fisherBlockInverses(G, 4, n, b, 1e-3, 'dual'),
    alone = fisherBlockInverse(G.subarray(0, n * b), n, b, 1e-3, 'dual');
  const kept = new Kept();
  kept.set(1, invs.slice(0, 2));
  kept.set(2, invs.slice(2));
  kept.set(3, [alone]);
  assert.equal(kept.size, 3);
  assert.deepEqual(kept.take(1), invs.slice(0, 2));
  assert.ok(kept.holds(invs[0].storage()), 'blocks 2 and 3 of the batch still use its buffer');
  assert.equal(kept.take(1), undefined);
  assert.deepEqual(kept.take(2), invs.slice(2));
  assert.ok(!kept.holds(invs[0].storage()));
  assert.ok(kept.holds(alone.storage()));
  kept.set(3, [alone]); // kept again under the same id: counted once
  assert.deepEqual(kept.take(3), [alone]);
  assert.ok(!kept.holds(alone.storage()));
  assert.equal(kept.size, 0);
});

test('a batched independent update refuses a job whose mask, F⁻¹∇L or inverses do not match its weights', async () => {
  const { buildBlocks, updateBlocks } = await import('../../../src/engine/fisher/blockJobs');
  const { WoodFisherError } = await import('../../../src/engine/types');
  const seed = freshSeed(),
    r = rng(seed),
    [n, b] = [8, 6];
  const G = Float32Array.from(gradients(r, 2 * n, b)); // two blocks' matrices one after another
  const w = randn(r, 2 * b);
  const build = (): BuildJob[] =>
    [0, 1].map(id => ({
      op: 'build',
      id,
      G: G.slice(id * n * b, (id + 1) * n * b),
      n,
      b,
      damp: 1e-3,
      form: 'auto',
      w: w.slice(id * b, (id + 1) * b),
      taylor: true,
      keep: true,
    }));
  const update = (id: number, mask: Uint8Array, invGrad = new Float64Array(b)): UpdateJob => ({
    op: 'update',
    id,
    w: w.slice(id * b, (id + 1) * b),
    mask,
    kind: 'independent',
    invGrad,
  });
  const ok = Uint8Array.from({ length: b }, (_, q) => q % 2);
  for (const [what, jobs] of [
    ['a mask of 5 beside one of 7 (the batch totals agree)', [update(0, ok.slice(0, 5)), update(1, Uint8Array.from({ length: 7 }))]],
    ['F⁻¹∇L of 4 for 6 weights', [update(0, ok, new Float64Array(4)), update(1, ok)]],
  ] as const) {
    const kept = new Kept();
    buildBlocks(build(), kept);
    assert.throws(() => updateBlocks([...jobs], kept), WoodFisherError, `${what}, seed ${seed}`);
  }
  const kept = new Kept();
  buildBlocks(build(), kept);
  const fine = updateBlocks([update(0, ok), update(1, ok)], kept);
  assert.ok(fine.every(u => u.w.every(Number.isFinite)));
});

test('a batch the thread cannot read (a view of a 4 GiB+ shared buffer: linalg/rowArena.ts) fails the run, it does not hang it', async () => {
  // Node 20 posts the buffer's length modulo 2³²: this view, 1 GiB in, lies outside what arrives
  const huge = new Float32Array(new SharedArrayBuffer(4 * 2 ** 30 + 2 ** 28));
  const [n, b] = [4, 8];
  const rows = huge.subarray(2 ** 28, 2 ** 28 + n * b);
  const pool = blockPool(1, 1);
  try {
    await assert.rejects(
      pool.build({
        op: 'build',
        id: 1,
        G: { rows, n, d: b, start: 0, end: b },
        n,
        b,
        damp: 1e-4,
        form: 'auto',
        w: new Float64Array(b),
        taylor: false,
        keep: false,
      }),
      /did not reach the thread/,
    );
  } finally {
    await pool.close();
  }
});
