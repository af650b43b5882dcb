import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNpy, parseNpy } from '../../../src/engine/data/npy';

test('npy round-trips float32, float64, uint8 and int64 arrays of any rank', () => {
  const cases = [
    { data: Float32Array.from({ length: 24 }, () => Math.random()), shape: [2, 3, 4] },
    { data: Float64Array.from({ length: 5 }, () => Math.random()), shape: [5] },
    { data: Uint8Array.from({ length: 6 }, (_, i) => i * 40), shape: [3, 2] },
    { data: BigInt64Array.from([3n, 1n, 9n]), shape: [3] },
  ];
  for (const c of cases) {
    const bytes = formatNpy(c.data, c.shape);
    assert.equal((bytes.length - c.data.byteLength) % 64, 0, 'header padded to 64 bytes');
    const back = parseNpy(bytes);
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(c.data as ArrayLike<unknown>));
  }
});

test('npy rejects truncated data, bad magic and Fortran order with a clear message', () => {
  const good = formatNpy(new Float32Array(10), [10]);
  assert.throws(() => parseNpy(good.subarray(0, good.length - 4), 'x.npy'), /x\.npy.*truncated/);
  assert.throws(() => parseNpy(new Uint8Array(20), 'y.npy'), /y\.npy.*bad magic/);
  const fortran = new TextDecoder('latin1').decode(good).replace("'fortran_order': False", "'fortran_order': True ");
  assert.throws(() => parseNpy(Uint8Array.from(fortran, c => c.charCodeAt(0))), /Fortran/);
});

test('npy reads from a Node Buffer (a view into a larger pool) without picking up the header', () => {
  const data = Float32Array.from({ length: 7 }, () => Math.random());
  const buf = Buffer.concat([Buffer.alloc(13), Buffer.from(formatNpy(data, [7]))]).subarray(13);
  assert.deepEqual(Array.from(parseNpy(buf).data as Float32Array), Array.from(data));
});
