// The Fisher blocks' factorizations (linalg/factors.ts) against float64 references on fresh random inputs, product by
// product (plain JS), whole on the onnxruntime thread (one request a batch), which must give the same bits as the
// same products called one by one from here, and whole through the OpenBLAS addon (LAPACK's dpotrf/dtrtri/dtrsm). gramFactor: R = L⁻¹ with LLᵀ = A = λI + GᵀG/k, so R A Rᵀ = I, RᵀR = A⁻¹.
// rowGramFactor: L⁻¹ and H = L⁻¹G with LLᵀ = K = kλI + GGᵀ, so L⁻¹ K L⁻ᵀ = I.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { onnxRuntimeProvider, onnxRuntimeUnavailable, openBlasProvider, openBlasUnavailable } from '../../../src/engine/linalg/accel';
import { FACTORS, factor, type FactorName } from '../../../src/engine/linalg/factors';
import { runSteps } from '../../../src/engine/linalg/cholesky';
import { setGemmBackend, type GemmBackend } from '../../../src/engine/linalg/gemm';
import { WoodFisherError } from '../../../src/engine/types';
import { denseFisher, freshSeed, gaussJordanInverse, gradients, matmulRef, relErr, rng, transpose } from './reference';

const why = onnxRuntimeUnavailable(),
  noBlas = openBlasUnavailable();
const eye = (m: number) => Float64Array.from({ length: m * m }, (_, i) => (i % (m + 1) === 0 ? 1 : 0));
const lower = (X: Float64Array, m: number) => X.every((x, i) => i % m <= Math.floor(i / m) || x === 0);

/** Σ_i X_iq² of an r×b matrix, column by column. */
const squaresRef = (X: Float64Array, r: number, b: number) =>
  Float64Array.from({ length: b }, (_, q) => {
    let s = 0;
    for (let i = 0; i < r; i++) s += X[i * b + q] ** 2;
    return s;
  });

/** Checks one batch's outputs of `name` against the references. */
function check(
  name: FactorName,
  parts: Float64Array[],
  G: Float32Array | Float64Array,
  k: number,
  m: number,
  damp: number,
  count: number,
  at: string,
) {
  for (let c = 0; c < count; c++) {
    const Gc = G.subarray(c * k * m, (c + 1) * k * m);
    if (name === 'gramFactor') {
      const R = parts[0].subarray(c * m * m, (c + 1) * m * m).map(x => x * Math.sqrt(Math.max(k, 1))), // √k R: A's own factor
        A = denseFisher(Gc, k, m, damp);
      assert.ok(lower(R, m), `R lower ${at}`);
      assert.ok(relErr(matmulRef(matmulRef(R, A, m, m, m), transpose(R, m, m), m, m, m), eye(m)) < 1e-9, `R A Rᵀ = I ${at}`);
      const tol = damp >= 1e-2 ? 1e-9 : 1e-5; // small λ: Gauss-Jordan itself is the weaker reference
      assert.ok(relErr(matmulRef(transpose(R, m, m), R, m, m, m), gaussJordanInverse(A, m)) < tol, `RᵀR = A⁻¹ ${at}`);
      const Rc = parts[0].subarray(c * m * m, (c + 1) * m * m);
      assert.ok(relErr(parts[1].subarray(c * m, (c + 1) * m), squaresRef(Rc, m, m)) < 1e-13, `‖R_q‖² ${at}`);
    } else {
      const Linv = parts[0].subarray(c * k * k, (c + 1) * k * k),
        H = parts[1].subarray(c * k * m, (c + 1) * k * m);
      const K = matmulRef(Gc, transpose(Gc, k, m), k, m, k);
      for (let i = 0; i < k; i++) K[i * k + i] += k * damp;
      assert.ok(lower(Linv, k), `L⁻¹ lower ${at}`);
      assert.ok(relErr(matmulRef(matmulRef(Linv, K, k, k, k), transpose(Linv, k, k), k, k, k), eye(k)) < 1e-9, `L⁻¹KL⁻ᵀ = I ${at}`);
      assert.ok(relErr(H, matmulRef(Linv, Gc, k, k, m)) < 1e-12, `H = L⁻¹G ${at}`);
      if (k > 0) assert.ok(relErr(parts[2].subarray(c * m, (c + 1) * m), squaresRef(H, k, m)) < 1e-13, `‖H_q‖² ${at}`);
    }
  }
}

const SHAPES: [FactorName, number, number, number][] = [
  ['gramFactor', 7, 1, 2],
  ['gramFactor', 40, 5, 3],
  ['gramFactor', 64, 17, 3],
  ['gramFactor', 130, 64, 2],
  ['gramFactor', 200, 131, 1],
  ['rowGramFactor', 1, 9, 2],
  ['rowGramFactor', 17, 40, 3],
  ['rowGramFactor', 33, 128, 2],
  ['rowGramFactor', 64, 100, 1],
];

const ROUTES = {
  'product by product (JS)': { skip: undefined, make: () => undefined },
  'on the onnxruntime thread': { skip: why, make: () => onnxRuntimeProvider({ precision: 'float64' }) },
  'through OpenBLAS': { skip: noBlas, make: () => openBlasProvider() },
};
for (const [route, { skip, make }] of Object.entries(ROUTES)) {
  test(`${route}: both factorizations match their references, float32 and float64 G`, { skip }, () => {
    const p = make();
    if (p) setGemmBackend(p);
    try {
      const seed = freshSeed(),
        r = rng(seed);
      for (const [name, k, m, count] of SHAPES)
        for (const damp of [1e-2, 1e-6])
          for (const f32 of [false, true]) {
            const G64 = Float64Array.from(gradients(r, count * k, m));
            const G = f32 ? Float32Array.from(G64) : G64;
            const parts = factor({ name, G, k, m, damp, count, what: 'test block' });
            check(name, parts, G, k, m, damp, count, `${name} k=${k} m=${m} λ=${damp} ${f32 ? 'f32' : 'f64'} seed ${seed}`);
          }
    } finally {
      setGemmBackend();
      p?.dispose();
    }
  });
}

test('on the onnxruntime thread: the same bits as the same products called one by one from this thread', { skip: why }, () => {
  const p = onnxRuntimeProvider({ precision: 'float64' });
  const products: Partial<GemmBackend> = { gramCols: p.gramCols, gramRows: p.gramRows, matmul: p.matmul, matmulTN: p.matmulTN };
  try {
    const r = rng(freshSeed());
    for (const [name, k, m, count] of [
      ['gramFactor', 96, 128, 3],
      ['rowGramFactor', 32, 128, 4],
    ] as const) {
      const G = Float32Array.from(gradients(r, count * k, m));
      const whole = p.factor!({ name, G, k, m, damp: 1e-5, count, what: 'x' })!;
      setGemmBackend(products);
      const oneByOne = runSteps(FACTORS[name](G, k, m, 1e-5, count, 'x'));
      setGemmBackend();
      assert.deepEqual(whole, oneByOne, name);
    }
  } finally {
    setGemmBackend();
    p.dispose();
  }
});

for (const [route, { skip, make }] of Object.entries(ROUTES).slice(1))
  test(
    `${route}: a block that is not positive definite is a NUMERIC WoodFisherError naming the pivot; the provider goes on`,
    { skip },
    () => {
      const p = make()!;
      try {
        const k = 3,
          m = 37,
          G = gradients(rng(freshSeed()), k, m); // rank 3: λ < 0 leaves GᵀG + kλI indefinite (and GGᵀ + kλI for Gᵀ)
        for (const [name, what, g, rows, cols] of [
          ['gramFactor', 'Fisher block (primal)', G, k, m],
          ['rowGramFactor', 'Fisher block (dual)', transpose(Float64Array.from(G), k, m), m, k],
        ] as const)
          assert.throws(
            () => p.factor!({ name, G: g, k: rows, m: cols, damp: -1e-3, count: 1, what }),
            (e: unknown) =>
              e instanceof WoodFisherError &&
              e.code === 'NUMERIC' &&
              e.message.startsWith(`${what} is not positive definite (pivot `) &&
              /increase the damping λ$/.test(e.message),
          );
        const nan = Float64Array.from(G).fill(NaN, 5, 6); // NaN gradients never pass as a factor
        assert.throws(() => p.factor!({ name: 'gramFactor', G: nan, k, m, damp: 1e-2, count: 1, what: 'x' }), WoodFisherError);
        assert.ok(p.factor!({ name: 'gramFactor', G, k, m, damp: 1e-2, count: 1, what: 'x' })![0].every(Number.isFinite));
      } finally {
        p.dispose();
      }
    },
  );

test(
  'on the onnxruntime thread: a handed-over G moves without a copy (detached here) and gives the same bits as a copied one',
  { skip: why },
  () => {
    const p = onnxRuntimeProvider({ precision: 'float64' });
    try {
      const r = rng(freshSeed()),
        [k, m, count] = [64, 100, 3];
      const G = Float32Array.from(gradients(r, count * k, m));
      const copied = p.factor!({ name: 'gramFactor', G, k, m, damp: 1e-4, count, what: 'x' })!;
      assert.equal(G.length, count * k * m, 'not owned: G stays');
      const moved = p.factor!({ name: 'gramFactor', G, k, m, damp: 1e-4, count, what: 'x', owned: true })!;
      assert.equal(G.length, 0, 'owned: G moved to the thread');
      assert.deepEqual(moved, copied);
    } finally {
      p.dispose();
    }
  },
);

for (const [route, { skip, make }] of Object.entries(ROUTES).slice(1))
  test(
    `${route}: a batch's outputs are written into the caller's freed buffers (stale NaN inside), with the same bits`,
    { skip },
    async () => {
      const { recycle, takeFree } = await import('../../../src/engine/linalg/scratch');
      const { factorOutputBytes } = await import('../../../src/engine/linalg/factors');
      const p = make()!;
      try {
        const r = rng(freshSeed());
        for (const [name, k, m, count] of [
          ['gramFactor', 40, 64, 3],
          ['rowGramFactor', 16, 96, 5],
        ] as const) {
          const sizes = factorOutputBytes(name, k, m, count);
          for (const bytes of sizes) while (takeFree(bytes)); // the pool holds none of these sizes
          const G = Float32Array.from(gradients(r, count * k, m));
          const first = p.factor!({ name, G, k, m, damp: 1e-4, count, what: 'x' })!;
          assert.deepEqual(
            first.map(x => x.byteLength),
            sizes,
          );
          const expected = first.map(x => x.slice());
          for (const x of first) x.fill(NaN);
          recycle(...first); // freed: the next batch's outputs may go there
          const again = p.factor!({ name, G, k, m, damp: 1e-4, count, what: 'x' })!;
          for (const bytes of sizes) assert.equal(takeFree(bytes), undefined, `${name}: the freed buffers were written again`);
          assert.deepEqual(again, expected, name);
          check(name, again, G, k, m, 1e-4, count, name);
        }
      } finally {
        p.dispose();
      }
    },
  );

test('through OpenBLAS: two threads factoring at once get the same bits as one thread alone', { skip: noBlas }, async () => {
  const { Worker } = await import('node:worker_threads');
  const { openBlasFile } = await import('../../../src/engine/linalg/accel/openblas');
  const [k, m, count, rounds] = [32, 128, 16, 150];
  const G = Float64Array.from(gradients(rng(freshSeed()), count * k, m));
  const [Linv, H] = openBlasProvider().factor!({ name: 'rowGramFactor', G, k, m, damp: 1e-5, count, what: 'x' })!;
  // each thread loads the addon itself and compares every round with the single-thread result
  const code = `const { parentPort, workerData: w } = require('node:worker_threads');
    const a = require(w.file), L = new Float64Array(w.Linv.length), H = new Float64Array(w.H.length), h = new Float64Array(w.H.length / w.k);
    let differ = 0;
    for (let r = 0; r < w.rounds; r++) {
      a.rowGramFactor(w.G, w.k, w.m, 1e-5, w.count, L, H, h);
      if (!L.every((x, i) => x === w.Linv[i]) || !H.every((x, i) => x === w.H[i])) differ++;
    }
    parentPort.postMessage(differ);`;
  const run = () =>
    new Promise<number>((resolve, reject) => {
      const t = new Worker(code, { eval: true, workerData: { file: openBlasFile(), G, k, m, count, rounds, Linv, H } });
      t.once('message', resolve);
      t.once('error', reject);
    });
  assert.deepEqual(await Promise.all([run(), run()]), [0, 0], 'rounds that differed, per thread');
});
