import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import { zipSync } from 'fflate';
import { formatNpy } from '../../../src/engine/data/npy';
import { readNpz } from '../../../src/engine/data/npz';
import { loadDataset } from '../../../src/engine/data/calibration';
import { mulberry32, sampleIndices } from '../../../src/engine/data/random';
import { WoodFisherError } from '../../../src/engine/types';

const FIX = path.join(__dirname, 'fixtures');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wf-data-'));
const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof WoodFisherError && e.code === c && (!re || re.test(e.message));
const spec = { inputShape: [4], numClasses: 3 };

test('readNpz reads numpy savez and savez_compressed archives (int64 labels included)', () => {
  for (const f of ['xy.npz', 'xy_compressed.npz']) {
    const a = readNpz(new Uint8Array(fs.readFileSync(path.join(FIX, f))), f);
    assert.deepEqual(a.x.shape, [5, 4]);
    assert.equal(a.x.dtype, 'f4');
    assert.ok(Math.abs((a.x.data as Float32Array)[7] - 0.7) < 1e-6);
    assert.equal(a.y.dtype, 'i8');
    assert.deepEqual(Array.from(a.y.data as BigInt64Array, Number), [0, 1, 2, 1, 0]);
  }
  assert.throws(() => readNpz(new Uint8Array([1, 2, 3]), 'bad.npz'), code('DATA_FORMAT', /bad\.npz/));
});

test('an .npz member whose size is only in a zip64 field (np.savez from 2 GiB on) is counted as what reading it takes, and said so', () => {
  const zip = zipSync({ 'x.npy': formatNpy(new Float32Array(20), [5, 4]) });
  // the central directory entry as Python writes it for a member of 2 GiB or more in an archive without a zip64 end record
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let cd = zip.length - 22;
  while (view.getUint32(cd, true) !== 0x02014b50) cd--;
  view.setUint32(cd + 24, 0xffffffff, true); // uncompressed size: the placeholder
  assert.throws(
    () => readNpz(zip, 'big.npz', 3e9),
    code(
      'MEMORY',
      /^big\.npz inflates to more than 3\.00 GB \(member x\.npy alone is over 2 GiB — 4\.29 GB to read, as the zip reader skips the zip64 field/,
    ),
  );
});

test('loadDataset: npz with labels, npy + int64 npy labels, one-hot labels, first-N and seeded samples', async () => {
  const d = await loadDataset(spec, path.join(FIX, 'xy_compressed.npz'));
  assert.deepEqual(d.shape, [5, 4]);
  assert.deepEqual(Array.from(d.labels!), [0, 1, 2, 1, 0]);
  const dir = tmp();
  const x = Float64Array.from({ length: 20 }, (_, i) => i);
  fs.writeFileSync(path.join(dir, 'x.npy'), formatNpy(x, [5, 4]));
  const first = await loadDataset(spec, path.join(dir, 'x.npy'), path.join(FIX, 'labels_int64.npy'), { samples: 2 });
  assert.deepEqual(Array.from(first.x), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(Array.from(first.labels!), [0, 1]);
  const oneHot = Float32Array.from([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]);
  fs.writeFileSync(path.join(dir, 'oh.npy'), formatNpy(oneHot, [5, 3]));
  const s1 = await loadDataset(spec, path.join(dir, 'x.npy'), path.join(dir, 'oh.npy'), { samples: 3, shuffle: true, seed: 7 });
  const s2 = await loadDataset(spec, path.join(dir, 'x.npy'), path.join(dir, 'oh.npy'), { samples: 3, shuffle: true, seed: 7 });
  assert.deepEqual(s1.x, s2.x, 'same seed, same sample');
  const expectIdx = Array.from(sampleIndices(5, 3, mulberry32(7)));
  assert.deepEqual(
    Array.from(s1.labels!),
    expectIdx.map(i => [2, 0, 1, 2, 0][i]),
  );
  assert.deepEqual(
    Array.from(s1.x.subarray(0, 4)),
    [0, 1, 2, 3].map(j => expectIdx[0] * 4 + j),
  );
  assert.equal(new Set(expectIdx).size, 3);
});

test('loadDataset reports shape, label and NaN problems clearly', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'x.npy'), formatNpy(new Float32Array(15), [5, 3]));
  await assert.rejects(loadDataset(spec, path.join(dir, 'x.npy')), code('DATA_SHAPE', /\[5, 3\].*\[5, 4\]/));
  fs.writeFileSync(path.join(dir, 'ok.npy'), formatNpy(new Float32Array(20), [5, 4]));
  fs.writeFileSync(path.join(dir, 'y4.npy'), formatNpy(Int32Array.from([0, 1, 2, 1]), [4]));
  await assert.rejects(loadDataset(spec, path.join(dir, 'ok.npy'), path.join(dir, 'y4.npy')), code('LABELS', /4 labels.*5 samples/));
  fs.writeFileSync(path.join(dir, 'ybad.npy'), formatNpy(Int32Array.from([0, 1, 3, 1, 0]), [5]));
  await assert.rejects(loadDataset(spec, path.join(dir, 'ok.npy'), path.join(dir, 'ybad.npy')), code('LABELS', /label 2 is 3/));
  const nan = new Float32Array(20);
  nan[9] = NaN;
  fs.writeFileSync(path.join(dir, 'nan.npy'), formatNpy(nan, [5, 4]));
  await assert.rejects(loadDataset(spec, path.join(dir, 'nan.npy')), code('DATA_FORMAT', /sample 2.*NaN/));
  fs.writeFileSync(path.join(dir, 'x.csv'), '1,2');
  await assert.rejects(loadDataset(spec, path.join(dir, 'x.csv')), code('DATA_FORMAT', /\.csv/));
});
