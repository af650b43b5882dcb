import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnxBatchedTN, onnxRuntimeUnavailable } from '../../../../src/engine/linalg/accel';
import { mulberry32 } from '../../../../src/engine/data/random';

/** ‖C − AᵀB‖/‖AᵀB‖ over the batch, AᵀB summed in float64. */
function relErrTN(A: Float32Array, B: Float32Array, C: Float32Array, batch: number, k: number, m: number, n: number): number {
  let num = 0,
    den = 0;
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += A[(b * k + t) * m + i] * B[(b * k + t) * n + j];
        num += (C[(b * m + i) * n + j] - s) ** 2;
        den += s * s;
      }
  return Math.sqrt(num / den);
}

test(
  'onnxruntime batched C[b] = A[b]ᵀB[b] (per-sample gradient products, public API) matches a float64 reference',
  { skip: onnxRuntimeUnavailable() },
  async () => {
    const r = mulberry32(Date.now() % 1e9);
    const random = (len: number) => Float32Array.from({ length: len }, () => r() - 0.5);
    const p = await onnxBatchedTN(2);
    try {
      for (const [batch, k, m, n] of [
        [3, 50, 7, 5],
        [1, 1, 9, 4],
        [4, 300, 33, 17],
        [2, 7, 1, 1],
      ]) {
        const A = random(batch * k * m),
          B = random(batch * k * n);
        // operands may be views into a larger buffer (the wasm heap)
        const host = new Float32Array(A.length + 5);
        host.set(A, 5);
        const C = await p.matmulTN(host.subarray(5), B, batch, k, m, n);
        assert.equal(C.length, batch * m * n);
        const err = relErrTN(A, B, C, batch, k, m, n);
        assert.ok(err < 1e-5, `[${batch}, ${k}, ${m}, ${n}]: ${err}`);
      }
      // consecutive calls of one shape reuse the result's buffer: each result is right while it is valid
      const [batch, k, m, n] = [2, 40, 6, 3];
      let first: Float32Array | undefined;
      for (let rep = 0; rep < 3; rep++) {
        const A = random(batch * k * m),
          B = random(batch * k * n);
        const C = await p.matmulTN(A, B, batch, k, m, n);
        if (rep > 0) assert.equal(C.buffer, first!.buffer, 'the result buffer is reused');
        first = C;
        const err = relErrTN(A, B, C, batch, k, m, n);
        assert.ok(err < 1e-5, `repeat ${rep}: ${err}`);
      }
      await assert.rejects(p.matmulTN(new Float32Array(3), new Float32Array(3), 1, 2, 2, 2), RangeError);
    } finally {
      p.dispose();
    }
  },
);
