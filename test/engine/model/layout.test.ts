import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torchShape, toTorch, fromTorch } from '../../../src/engine/model/layout';

test('torchShape maps each kind to the PyTorch layout', () => {
  assert.deepEqual(torchShape('Dense', [5, 3]), [3, 5]);
  assert.deepEqual(torchShape('Conv2D', [3, 2, 4, 6]), [6, 4, 3, 2]);
  assert.deepEqual(torchShape('Conv1D', [3, 4, 6]), [6, 4, 3]);
  assert.deepEqual(torchShape('DepthwiseConv2D', [3, 2, 4, 2]), [8, 1, 3, 2]);
});

test('toTorch is a transpose (checked element by element) and fromTorch inverts it', () => {
  // Dense: torch[o][i] = tf[i][o]
  const tfD = Float32Array.from({ length: 15 }, (_, k) => k);
  const d = toTorch('Dense', [5, 3], tfD);
  for (let o = 0; o < 3; o++) for (let i = 0; i < 5; i++) assert.equal(d[o * 5 + i], tfD[i * 3 + o]);
  // Conv2D: torch[o][c][i][j] = tf[i][j][c][o]
  const [kh, kw, ci, co] = [3, 2, 4, 6];
  const tfC = Float32Array.from({ length: kh * kw * ci * co }, (_, k) => k);
  const c = toTorch('Conv2D', [kh, kw, ci, co], tfC);
  for (let o = 0; o < co; o++)
    for (let ch = 0; ch < ci; ch++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) assert.equal(c[((o * ci + ch) * kh + i) * kw + j], tfC[((i * kw + j) * ci + ch) * co + o]);
  // Depthwise: torch[ch*m+k][0][i][j] = tf[i][j][ch][k]
  const tfW = Float32Array.from({ length: 3 * 2 * 4 * 2 }, (_, k) => k);
  const w = toTorch('DepthwiseConv2D', [3, 2, 4, 2], tfW);
  assert.equal(w[((2 * 2 + 1) * 3 + 1) * 2 + 0], tfW[((1 * 2 + 0) * 4 + 2) * 2 + 1]);
  for (const [kind, shape] of [
    ['Dense', [5, 3]],
    ['Conv2D', [3, 2, 4, 6]],
    ['Conv1D', [3, 4, 6]],
    ['DepthwiseConv2D', [3, 2, 4, 2]],
  ] as const) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, () => Math.random());
    assert.deepEqual(fromTorch(kind, [...shape], toTorch(kind, [...shape], v)), v);
  }
});
