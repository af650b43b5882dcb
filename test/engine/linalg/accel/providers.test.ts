// Every matrix-product provider against a float64 reference, by relative (Frobenius) error.
// float64 providers: ≤ 1e-12; float32 providers: ≤ 2e-6 (float32 rounding of inputs + accumulation over k ≤ 300).
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../../../src/engine/backend';
import {
  GemmProvider,
  jsProvider,
  tfjsProvider,
  onnxRuntimeProvider,
  onnxRuntimeUnavailable,
  openBlasProvider,
  openBlasUnavailable,
  selectProvider,
} from '../../../../src/engine/linalg/accel';
import { onnxModel } from '../../../../src/engine/linalg/accel/onnxModel';
import { populate, staleAddon } from '../../../../src/engine/linalg/accel/openblas';
import { NATIVE_PLATFORMS } from '../../../../src/engine/linalg/fastest';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
const rand = (len: number, seed: number) => {
  const r = rng(seed);
  return Float64Array.from({ length: len }, r);
};

/** Reference C = op(A)·op(B) in float64 with plain loops. A is ra×ca, B is rb×cb (row-major). */
function ref(A: Float64Array, ra: number, ca: number, tA: boolean, B: Float64Array, rb: number, cb: number, tB: boolean): Float64Array {
  const m = tA ? ca : ra,
    k = tA ? ra : ca,
    n = tB ? rb : cb;
  assert.equal(tB ? cb : rb, k);
  const a = (i: number, t: number) => (tA ? A[t * ca + i] : A[i * ca + t]);
  const b = (t: number, j: number) => (tB ? B[j * cb + t] : B[t * cb + j]);
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a(i, t) * b(t, j);
      C[i * n + j] = s;
    }
  return C;
}
function relErr(X: Float64Array, R: Float64Array): number {
  assert.equal(X.length, R.length);
  let num = 0,
    den = 0;
  for (let i = 0; i < R.length; i++) {
    num += (X[i] - R[i]) ** 2;
    den += R[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function checkProvider(p: GemmProvider) {
  const tol = p.precision === 'float64' ? 1e-12 : 2e-6;
  for (const [k, m, n] of [
    [1, 1, 1],
    [7, 5, 3],
    [300, 65, 129],
    [33, 200, 17],
  ]) {
    const A = rand(k * m, k + m),
      B = rand(k * n, n + 1),
      A2 = rand(m * k, 3 * m);
    const cases: [string, Float64Array, Float64Array][] = [
      ['gramCols', p.gramCols(A, k, m), ref(A, k, m, true, A, k, m, false)],
      ['gramRows', p.gramRows(A2, m, k), ref(A2, m, k, false, A2, m, k, true)],
      ['matmulTN', p.matmulTN(A, B, k, m, n), ref(A, k, m, true, B, k, n, false)],
      ['matmul', p.matmul(A2, B, m, k, n), ref(A2, m, k, false, B, k, n, false)],
    ];
    for (const [what, X, R] of cases) {
      const e = relErr(X, R);
      assert.ok(e <= tol, `${p.name} ${what} k=${k} m=${m} n=${n}: relative error ${e.toExponential(2)} > ${tol}`);
    }
    // float32 input works as well (the gradients arrive as float32)
    const A32 = Float32Array.from(A);
    const e = relErr(p.gramCols(A32, k, m), ref(Float64Array.from(A32), k, m, true, Float64Array.from(A32), k, m, false));
    assert.ok(e <= tol, `${p.name} gramCols(float32) relative error ${e.toExponential(2)}`);
  }
  // batches: `count` products in one call equal each product alone (to the provider's precision)
  for (const [k, m, n, count] of [
    [9, 4, 6, 3],
    [40, 33, 17, 5],
  ]) {
    const A = rand(count * k * m, 5 * k),
      B = rand(count * k * n, 7 * n),
      A2 = rand(count * m * k, 11 * m);
    const part = (X: Float64Array, c: number, len: number) => X.subarray(c * len, (c + 1) * len);
    const batched: [string, Float64Array, (c: number) => Float64Array, number][] = [
      ['gramCols', p.gramCols(A, k, m, count), c => ref(part(A, c, k * m), k, m, true, part(A, c, k * m), k, m, false), m * m],
      ['gramRows', p.gramRows(A2, m, k, count), c => ref(part(A2, c, m * k), m, k, false, part(A2, c, m * k), m, k, true), m * m],
      ['matmulTN', p.matmulTN(A, B, k, m, n, count), c => ref(part(A, c, k * m), k, m, true, part(B, c, k * n), k, n, false), m * n],
      ['matmul', p.matmul(A2, B, m, k, n, count), c => ref(part(A2, c, m * k), m, k, false, part(B, c, k * n), k, n, false), m * n],
    ];
    for (const [what, X, R, len] of batched) {
      assert.equal(X.length, count * len, `${p.name} ${what} batch length`);
      for (let c = 0; c < count; c++) {
        const e = relErr(part(X, c, len), R(c));
        assert.ok(e <= tol, `${p.name} ${what} batch of ${count}, matrix ${c}: relative error ${e.toExponential(2)}`);
      }
    }
  }
  // grams are exactly symmetric
  const G = rand(40 * 30, 9);
  const C = p.gramCols(G, 40, 30);
  for (let i = 0; i < 30; i++)
    for (let j = 0; j < i; j++) assert.ok(Math.abs(C[i * 30 + j] - C[j * 30 + i]) <= 1e-6 * Math.abs(C[i * 30 + i]));
  assert.throws(() => p.gramCols(new Float64Array(5), 2, 3), RangeError);
}

before(async () => {
  await initBackend('wasm');
});

test('js provider matches the float64 reference', () => checkProvider(jsProvider()));

test('tfjs (wasm) provider matches the reference to float32 accuracy, without leaking tensors', async () => {
  const { tf } = await import('../../../../src/engine/backend');
  const p = tfjsProvider();
  assert.equal(p.name, 'tfjs-wasm');
  const before = tf.memory().numTensors;
  checkProvider(p);
  assert.equal(tf.memory().numTensors, before);
});

const ortMissing = onnxRuntimeUnavailable();
for (const precision of ['float32', 'float64'] as const) {
  test(`onnxruntime ${precision} provider matches the reference`, { skip: ortMissing }, () => {
    const p = onnxRuntimeProvider({ precision });
    try {
      checkProvider(p);
    } finally {
      p.dispose();
    }
  });
}

// onnxruntime-node ships a CPU binary for these (accel/platforms.json, the list the packages are built from): a
// silent fall back to plain JS there is a packaging bug, not a skip.
const SHIPPED = NATIVE_PLATFORMS;
test(
  'onnxruntime-node loads where it ships a binary',
  { skip: !SHIPPED.includes(`${process.platform}-${process.arch}`) && 'no binary for this platform' },
  () => {
    assert.equal(ortMissing, undefined);
  },
);

test('onnxruntime provider: 400 back-to-back products each get their own result (helper-thread handshake)', { skip: ortMissing }, () => {
  const p = onnxRuntimeProvider({ precision: 'float64' });
  try {
    for (let t = 0; t < 400; t++) {
      const m = 8 + (t % 5),
        k = 6 + (t % 3),
        n = 7;
      const A = Float64Array.from({ length: m * k }, () => Math.random() - 0.5),
        B = Float64Array.from({ length: k * n }, () => Math.random() - 0.5);
      const C = p.matmul(A, B, m, k, n),
        R = jsProvider().matmul(A, B, m, k, n);
      assert.equal(C.length, m * n);
      for (let i = 0; i < C.length; i++) assert.ok(Math.abs(C[i] - R[i]) <= 1e-12 * (1 + Math.abs(R[i])), `product ${t}, entry ${i}`);
    }
  } finally {
    p.dispose();
  }
});

test('onnxruntime provider refuses use after dispose()', { skip: ortMissing }, () => {
  const p = onnxRuntimeProvider({ precision: 'float64' });
  p.dispose();
  assert.throws(() => p.matmul(new Float64Array(4), new Float64Array(4), 2, 2, 2), /after dispose/);
});

const blasMissing = openBlasUnavailable();
test('openblas provider matches the reference', { skip: blasMissing }, () => checkProvider(openBlasProvider()));

// .ci/run installs OpenBLAS and builds the addon: there a missing addon is a build bug, not a skip.
test(
  'the OpenBLAS addon loads where the build was asked for it (WOODFISHER_REQUIRE_OPENBLAS=1)',
  {
    skip: process.env.WOODFISHER_REQUIRE_OPENBLAS !== '1' && 'not asked for here',
  },
  () => {
    assert.equal(blasMissing, undefined);
  },
);

test('an OpenBLAS addon built from other sources (no or another interface version) is refused with the rebuild command; this build is accepted', () => {
  assert.match(
    staleAddon({}, '/x/woodfisher-linalg-linux-x64.node') ?? '',
    /built from other sources \(interface 1, this code needs \d+\): rebuild it with `npm run build:native`/,
  );
  assert.match(staleAddon({ abi: 99 }, '/x/a.node') ?? '', /interface 99/);
  if (!blasMissing) assert.equal(openBlasUnavailable(), undefined, 'the addon built from these sources loads');
});

test('openblas addon: wrong arguments are a RangeError, never a crash or a write past an array', { skip: blasMissing }, () => {
  const p = openBlasProvider();
  assert.throws(() => p.gramCols(new Float64Array(5), 2, 3), RangeError);
  assert.throws(() => p.matmul(new Float64Array(6), new Float64Array(5), 2, 3, 2), RangeError);
  assert.throws(() => p.gramRows(new Float64Array(4), 2, 2, 3), RangeError);
  assert.throws(() => p.matmulTN(new Float64Array(4), new Float64Array(4), 2, 2.5 as number, 2), RangeError);
  assert.throws(() => p.matmul(new Int32Array(4) as unknown as Float64Array, new Float64Array(4), 2, 2, 2), RangeError);
  assert.throws(() => p.factor!({ name: 'gramFactor', G: new Float64Array(8), k: 4, m: 4, damp: 1, count: 1, what: 'x' }), RangeError);
  // gather: a block past the source's end, a fractional or negative start, a row stride below the width, types differ
  const src = new Float32Array(40),
    out = new Float32Array(16);
  assert.throws(() => p.gather!(src, 10, Float64Array.of(0, 7), 4, 4, 2, out), RangeError);
  assert.throws(() => p.gather!(src, 10, Float64Array.of(0.5), 4, 4, 1, out), RangeError);
  assert.throws(() => p.gather!(src, 10, Float64Array.of(-1), 4, 4, 1, out), RangeError);
  assert.throws(() => p.gather!(src, 3, Float64Array.of(0), 4, 4, 1, out), RangeError);
  assert.throws(() => p.gather!(src, 10, Float64Array.of(0), 4, 4, 1, new Float64Array(16)), RangeError);
  assert.throws(() => p.gather!(src, 10, Float64Array.of(0, 0), 4, 4, 2, out), RangeError); // out holds one block
  p.gather!(
    src.map((_, i) => i),
    10,
    Float64Array.of(6),
    4,
    4,
    1,
    out,
  ); // the last block that fits
  assert.deepEqual([...out], [6, 7, 8, 9, 16, 17, 18, 19, 26, 27, 28, 29, 36, 37, 38, 39]);
  // empty shapes: zero rows give zero grams, zero columns nothing
  assert.deepEqual([...p.gramCols(new Float64Array(0), 0, 2)], [0, 0, 0, 0]);
  assert.deepEqual([...p.matmul(new Float64Array(0), new Float64Array(0), 2, 0, 2)], [0, 0, 0, 0]);
  assert.equal(p.gramRows(new Float64Array(0), 0, 5).length, 0);
});

test('selectProvider: float64 by default, OpenBLAS then onnxruntime where they load, else js', () => {
  const p = selectProvider();
  assert.equal(p.precision, 'float64');
  assert.equal(p.name, !blasMissing ? 'openblas-f64' : ortMissing ? 'js' : 'onnxruntime-f64');
  p.dispose();
  assert.equal(selectProvider('auto', { precision: 'float32' }).precision, 'float32');
});

test('onnxModel encodes a valid protobuf header', () => {
  const bytes = onnxModel([{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }], [], []);
  assert.equal(bytes[0], 0x08); // field 1 (ir_version), varint
  assert.equal(bytes[1], 7);
});

test('populate maps pages and changes nothing: shared and plain memory, views at odd offsets, written or fresh', () => {
  // without the addon populate must still hand back the same array untouched
  const r = rng(91);
  const plain = Float32Array.from({ length: 3 * 2 ** 18 + 5 }, r);
  const before = plain.slice();
  const view = new Float32Array(plain.buffer, 12, plain.length - 7); // neither end on a page
  assert.equal(populate(view), view);
  assert.deepEqual(plain, before);
  const shared = new Float32Array(new SharedArrayBuffer(4 * 2 ** 20));
  shared[12345] = 7;
  assert.equal(populate(shared), shared);
  assert.equal(shared[12345], 7);
  assert.equal(
    shared.reduce((a, v) => a + Math.abs(v), 0),
    7,
    'fresh pages read as zero',
  );
  assert.equal(populate(new Float32Array(3)).length, 3, 'small arrays are left to the page faults');
});
