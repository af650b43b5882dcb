// The Fisher blocks' factorizations (linalg/factors.ts) against float64 references on fresh random inputs, product by
// product (plain JS) and whole on the onnxruntime thread (one request a batch), which must give the same bits as the
// same products called one by one from here. gramFactor: R = L⁻¹ with LLᵀ = A = λI + GᵀG/k, so R A Rᵀ = I, RᵀR = A⁻¹.
// rowGramFactor: L⁻¹ and H = L⁻¹G with LLᵀ = K = kλI + GGᵀ, so L⁻¹ K L⁻ᵀ = I.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { onnxRuntimeProvider, onnxRuntimeUnavailable } from '../../../src/engine/linalg/accel';
import { FACTORS, factor, type FactorName } from '../../../src/engine/linalg/factors';
import { runSteps } from '../../../src/engine/linalg/cholesky';
import { setGemmBackend, type GemmBackend } from '../../../src/engine/linalg/gemm';
import { WoodFisherError } from '../../../src/engine/types';
import { denseFisher, freshSeed, gaussJordanInverse, gradients, matmulRef, relErr, rng, transpose } from './reference';

const why = onnxRuntimeUnavailable();
const eye = (m: number) => Float64Array.from({ length: m * m }, (_, i) => (i % (m + 1) === 0 ? 1 : 0));
const lower = (X: Float64Array, m: number) => X.every((x, i) => i % m <= Math.floor(i / m) || x === 0);

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
    } else {
      const Linv = parts[0].subarray(c * k * k, (c + 1) * k * k),
        H = parts[1].subarray(c * k * m, (c + 1) * k * m);
      const K = matmulRef(Gc, transpose(Gc, k, m), k, m, k);
      for (let i = 0; i < k; i++) K[i * k + i] += k * damp;
      assert.ok(lower(Linv, k), `L⁻¹ lower ${at}`);
      assert.ok(relErr(matmulRef(matmulRef(Linv, K, k, k, k), transpose(Linv, k, k), k, k, k), eye(k)) < 1e-9, `L⁻¹KL⁻ᵀ = I ${at}`);
      assert.ok(relErr(H, matmulRef(Linv, Gc, k, k, m)) < 1e-12, `H = L⁻¹G ${at}`);
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

for (const native of [false, true]) {
  test(
    `${native ? 'on the onnxruntime thread' : 'product by product (JS)'}: both factorizations match their references, float32 and float64 G`,
    { skip: native && why },
    () => {
      const p = native ? onnxRuntimeProvider({ precision: 'float64' }) : undefined;
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
    },
  );
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

test(
  'on the onnxruntime thread: a block that is not positive definite is a NUMERIC WoodFisherError naming the pivot; the thread goes on',
  { skip: why },
  () => {
    const p = onnxRuntimeProvider({ precision: 'float64' });
    try {
      const k = 3,
        m = 37,
        G = gradients(rng(freshSeed()), k, m); // rank 3: λ < 0 leaves A indefinite
      assert.throws(
        () => p.factor!({ name: 'gramFactor', G, k, m, damp: -1e-3, count: 1, what: 'Fisher block (primal)' }),
        (e: unknown) =>
          e instanceof WoodFisherError &&
          e.code === 'NUMERIC' &&
          /Fisher block \(primal\) is not positive definite \(pivot \d+/.test(e.message),
      );
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

test(
  "on the onnxruntime thread: a batch's outputs are written into the caller's freed buffers (stale NaN inside), with the same bits",
  { skip: why },
  async () => {
    const { recycle, takeFree } = await import('../../../src/engine/linalg/scratch');
    const { factorOutputBytes } = await import('../../../src/engine/linalg/factors');
    const p = onnxRuntimeProvider({ precision: 'float64' });
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
        for (const bytes of sizes) assert.equal(takeFree(bytes), undefined, `${name}: the freed buffers went to the thread`);
        assert.deepEqual(again, expected, name);
        check(name, again, G, k, m, 1e-4, count, name);
      }
    } finally {
      p.dispose();
    }
  },
);
