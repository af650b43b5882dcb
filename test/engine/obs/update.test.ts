import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fisherBlockInverse, fisherBlockInverses, mulEach } from '../../../src/engine/fisher/inverse';
import { independentUpdates, obsUpdate, woodTaylorUpdate } from '../../../src/engine/obs/update';
import { concatenated } from '../../../src/engine/linalg/scratch';
import { WoodFisherError } from '../../../src/engine/types';
import { denseFisher, freshSeed, gaussJordanInverse, gradients, matvecRef, randn, relErr, rng } from '../linalg/reference';

function randomMask(r: () => number, b: number, s: number): Uint8Array {
  return Uint8Array.from({ length: b }, () => (r() < s ? 1 : 0));
}

function setup(seed: number, n: number, b: number, damp = 1e-5) {
  const r = rng(seed);
  const G = gradients(r, n, b),
    w = randn(r, b, 0.1);
  return { r, G, w, F: denseFisher(G, n, b, damp), Finv: gaussJordanInverse(denseFisher(G, n, b, damp), b), damp };
}

/** ½ΔᵀFΔ for Δ = wNew − w. */
function quadLoss(F: Float64Array, w: Float64Array, wNew: Float64Array): number {
  const b = w.length,
    D = wNew.map((x, q) => x - w[q]);
  const FD = matvecRef(F, D, b, b);
  return 0.5 * D.reduce((a, x, q) => a + x * FD[q], 0);
}

for (const [n, b, form] of [
  [40, 30, 'primal'],
  [10, 60, 'dual'],
  [25, 20, 'recursive'],
] as const) {
  test(`${form} (N=${n}, b=${b}): pruned weights exactly 0; independent = Σ single-weight OBS updates; joint = dense formula`, () => {
    const seed = freshSeed(),
      { r, G, w, F, Finv, damp } = setup(seed, n, b);
    const inv = fisherBlockInverse(G, n, b, damp, form);
    const mask = randomMask(r, b, 0.4);
    const Q = [...mask.keys()].filter(q => mask[q]);
    for (const kind of ['independent', 'joint', 'none'] as const) {
      const out = obsUpdate(w, mask, inv, kind);
      Q.forEach(q => assert.ok(Object.is(out[q], 0), `${kind}: w_${q} exactly 0`));
      assert.notEqual(out, w);
    }
    // independent: Σ_q (−w_q/[F⁻¹]_qq) F⁻¹e_q
    const sum = Float64Array.from(w);
    for (const q of Q) for (let j = 0; j < b; j++) sum[j] += (-w[q] / Finv[q * b + q]) * Finv[j * b + q];
    Q.forEach(q => {
      sum[q] = 0;
    });
    assert.ok(relErr(obsUpdate(w, mask, inv, 'independent'), sum) < 1e-8, `independent seed ${seed}`);
    // joint: −F⁻¹E_Q (E_QᵀF⁻¹E_Q)⁻¹ E_Qᵀw; the dense formula itself zeroes w_Q
    const k = Q.length,
      S = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) S[i * k + j] = Finv[Q[i] * b + Q[j]];
    const y = matvecRef(
        gaussJordanInverse(S, k),
        Q.map(q => w[q]),
        k,
        k,
      ),
      u = new Float64Array(b);
    Q.forEach((q, i) => {
      u[q] = y[i];
    });
    const ref = matvecRef(Finv, u, b, b).map((x, q) => w[q] - x);
    Q.forEach(q => assert.ok(Math.abs(ref[q]) < 1e-8 * 0.1, 'E_Qᵀ(w + δw) = 0 in the dense formula'));
    const joint = obsUpdate(w, mask, inv, 'joint');
    assert.ok(relErr(joint, ref) < 1e-8, `joint seed ${seed}`);
    // optimality: (FΔ)_R = 0 on the kept weights R
    const FD = matvecRef(
        F,
        joint.map((x, q) => x - w[q]),
        b,
        b,
      ),
      FDnorm = Math.hypot(...FD);
    for (let q = 0; q < b; q++) if (!mask[q]) assert.ok(Math.abs(FD[q]) < 1e-8 * FDnorm, `KKT at ${q}, seed ${seed}`);
    // chunked joint (block elimination) = one-shot joint
    assert.ok(relErr(obsUpdate(w, mask, inv, 'joint', { jointChunk: 3 }), joint) < 1e-8, `chunked joint seed ${seed}`);
  });
}

test('joint on a single weight equals independent; none needs no inverse and only zeroes', () => {
  const seed = freshSeed(),
    n = 20,
    b = 15,
    { w, G, damp } = setup(seed, n, b);
  const inv = fisherBlockInverse(G, n, b, damp, 'dual');
  const mask = new Uint8Array(b);
  mask[4] = 1;
  assert.ok(relErr(obsUpdate(w, mask, inv, 'joint'), obsUpdate(w, mask, inv, 'independent')) < 1e-12, `seed ${seed}`);
  const none = obsUpdate(w, mask, null, 'none');
  assert.deepEqual(
    Array.from(none),
    Array.from(w).map((x, q) => (q === 4 ? 0 : x)),
  );
});

test('the OBS update lowers the quadratic loss ½ΔᵀFΔ of pruning: joint < none and joint ≤ independent', () => {
  // (independent is not always below none: with correlated pruned weights the summed single-weight steps can
  // overshoot — measured here in ~15% of random cases at 90% sparsity.)
  const seed = freshSeed(),
    n = 60,
    b = 50,
    { r, G, w, F, damp } = setup(seed, n, b);
  const inv = fisherBlockInverse(G, n, b, damp);
  for (const s of [0.3, 0.7]) {
    const mask = randomMask(r, b, s);
    const [joint, ind, none] = (['joint', 'independent', 'none'] as const).map(k => quadLoss(F, w, obsUpdate(w, mask, inv, k)));
    assert.ok(joint <= ind * (1 + 1e-9), `joint ${joint} ≤ independent ${ind}, seed ${seed}`);
    assert.ok(joint < none, `joint ${joint} < none ${none}, seed ${seed}`);
  }
});

test('independent = joint, and both lower the loss, when the pruned weights are uncorrelated (2×2 block-diagonal F)', () => {
  const seed = freshSeed(),
    r = rng(seed),
    m = 12,
    b = 2 * m,
    n = 48,
    damp = 1e-5;
  const G = new Float64Array(n * b);
  for (let k = 0; k < n; k++) {
    const j = k % m;
    G[k * b + 2 * j] = 0.05 * randn(r, 1)[0];
    G[k * b + 2 * j + 1] = 0.05 * randn(r, 1)[0];
  }
  const w = randn(r, b, 0.1),
    F = denseFisher(G, n, b, damp),
    inv = fisherBlockInverse(G, n, b, damp);
  const mask = Uint8Array.from({ length: b }, (_, q) => (q % 2 === 0 ? 1 : 0));
  const ind = obsUpdate(w, mask, inv, 'independent'),
    joint = obsUpdate(w, mask, inv, 'joint');
  assert.ok(relErr(ind, joint) < 1e-10, `seed ${seed}`);
  assert.ok(quadLoss(F, w, ind) < quadLoss(F, w, obsUpdate(w, mask, inv, 'none')), `seed ${seed}`);
});

test('WoodTaylor: equals WoodFisher when ∇L = 0; joint step satisfies (∇L + FΔ)_R = 0 on kept weights', () => {
  const seed = freshSeed(),
    n = 30,
    b = 24,
    { r, G, w, F, damp } = setup(seed, n, b);
  const inv = fisherBlockInverse(G, n, b, damp, 'primal');
  const mask = randomMask(r, b, 0.5),
    zero = new Float64Array(b);
  for (const kind of ['independent', 'joint', 'none'] as const) {
    assert.deepEqual(woodTaylorUpdate(w, mask, inv, kind, zero), obsUpdate(w, mask, inv, kind), kind);
  }
  const grad = randn(r, b, 1e-4),
    out = woodTaylorUpdate(w, mask, inv, 'joint', inv.mul(grad));
  const FD = matvecRef(
    F,
    out.map((x, q) => x - w[q]),
    b,
    b,
  );
  let scale = 0;
  for (let q = 0; q < b; q++) scale = Math.max(scale, Math.abs(grad[q]), Math.abs(FD[q]));
  for (let q = 0; q < b; q++) {
    if (mask[q]) assert.ok(Object.is(out[q], 0));
    else assert.ok(Math.abs(grad[q] + FD[q]) < 1e-8 * scale, `stationary at ${q}, seed ${seed}`);
  }
});

test('obsUpdate rejects a mask of the wrong length and a missing inverse', () => {
  const isOpt = (e: unknown) => e instanceof WoodFisherError && e.code === 'OPTIONS';
  assert.throws(() => obsUpdate(new Float64Array(3), new Uint8Array(2), null, 'none'), isOpt);
  assert.throws(() => obsUpdate(new Float64Array(3), Uint8Array.from([1, 0, 0]), null, 'independent'), isOpt);
});

test('batched: mulEach and independentUpdates over batches of primal, dual and recursive blocks (runs of one build, in one chunk or several, blocks alone, sizes mixed) equal the dense float64 reference; blocks with nothing pruned come back as they were', () => {
  const seed = freshSeed(),
    r = rng(seed),
    damp = 1e-4;
  // [n, b, count, form]: a batched build gives `count` blocks sharing one buffer
  const builds = [
    [12, 40, 5, 'dual'],
    [30, 16, 4, 'primal'],
    [12, 40, 1, 'dual'],
    [20, 9, 2, 'recursive'],
    [30, 16, 3, 'primal'],
    [6, 25, 3, 'dual'],
    [12, 40, 70, 'dual'], // more than one chunk of 256 KB (mulEach's cache-sized chunks)
    [4, 16, 130, 'primal'],
  ] as const;
  const blocks = builds.flatMap(([n, b, count, form]) => {
    const G = new Float64Array(count * n * b);
    for (let c = 0; c < count; c++) G.set(gradients(r, n, b), c * n * b);
    const invs = fisherBlockInverses(G, count, n, b, damp, form);
    return invs.map((inv, c) => {
      const Finv = gaussJordanInverse(denseFisher(G.subarray(c * n * b, (c + 1) * n * b), n, b, damp), b);
      return { inv, b, Finv, w: randn(r, b, 0.1), mask: randomMask(r, b, c === 1 ? 0 : 0.5) }; // block 1 of each build: nothing pruned
    });
  });
  const invs = blocks.map(k => k.inv);
  const V = randn(
    r,
    blocks.reduce((t, k) => t + k.b, 0),
  );
  const got = mulEach(invs, V);
  let o = 0;
  for (const [i, k] of blocks.entries()) {
    const ref = matvecRef(k.Finv, V.subarray(o, o + k.b), k.b, k.b);
    assert.ok(relErr(got.subarray(o, o + k.b), ref) < 1e-8, `F⁻¹v block ${i} (${k.inv.form}) seed ${seed}`);
    o += k.b;
  }
  const w = concatenated(blocks.map(k => k.w)),
    mask = concatenated(blocks.map(k => k.mask));
  const updated = independentUpdates(w, mask, invs);
  o = 0;
  for (const [i, k] of blocks.entries()) {
    const part = updated.subarray(o, o + k.b);
    if (!k.mask.some(x => x)) assert.deepEqual(part, k.w, `block ${i}: nothing pruned, weights as they were`);
    else {
      const ref = Float64Array.from(k.w); // Σ_q (−w_q/[F⁻¹]_qq) F⁻¹e_q
      for (let q = 0; q < k.b; q++)
        if (k.mask[q]) for (let j = 0; j < k.b; j++) ref[j] += (-k.w[q] / k.Finv[q * k.b + q]) * k.Finv[j * k.b + q];
      for (let q = 0; q < k.b; q++) if (k.mask[q]) ref[q] = 0;
      assert.ok(relErr(part, ref) < 1e-8, `update block ${i} (${k.inv.form}) seed ${seed}`);
      assert.ok(relErr(part, obsUpdate(k.w, k.mask, k.inv, 'independent')) < 1e-12, `batched vs one by one, block ${i} seed ${seed}`);
      for (let q = 0; q < k.b; q++) if (k.mask[q]) assert.ok(Object.is(part[q], 0), `block ${i}: w_${q} exactly 0`);
    }
    o += k.b;
  }
  assert.throws(() => mulEach(invs, V.subarray(1)), WoodFisherError);
  assert.throws(() => independentUpdates(w, mask.subarray(1), invs), WoodFisherError);
});
