// Training data read batch by batch: the same rows as the whole-file loader, from .npy (on disk) and .npz (in memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openTrainingData, subset } from '../../../src/engine/gradual/trainingData';
import { loadDataset } from '../../../src/engine/data/calibration';
import { formatNpy } from '../../../src/engine/data/npy';
import { WoodFisherError } from '../../../src/engine/types';

const EX = path.resolve(__dirname, '../../../examples/data');
const spec = { inputShape: [784], numClasses: 10 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wf-train-'));

test('.npy rows read at their offsets equal the whole-file loader, in any order', async () => {
  const all = await loadDataset(spec, path.join(EX, 'calib-x.npy'), path.join(EX, 'calib-y.npy'));
  const d = openTrainingData(spec, path.join(EX, 'calib-x.npy'), path.join(EX, 'calib-y.npy'), 2 ** 30);
  try {
    assert.equal(d.count, 1000);
    assert.equal(d.residentBytes, 0, 'a .npy is not held in memory');
    const idx = Int32Array.from([999, 0, 17, 17, 500]);
    const rows = d.rows(idx);
    idx.forEach((i, s) => assert.deepEqual(rows.subarray(s * 784, (s + 1) * 784), all.x.subarray(i * 784, (i + 1) * 784)));
    assert.deepEqual(d.labels, all.labels);
    const sub = subset(d, idx, 'samples');
    assert.deepEqual(
      Array.from(sub.labels!),
      Array.from(idx, i => all.labels![i]),
    );
    assert.deepEqual(sub.shape, [5, 784]);
  } finally {
    d.close();
  }
});

test('the bundled training split (.npz, deflated) holds the calibration digits first', async () => {
  const calib = await loadDataset(spec, path.join(EX, 'calib-x.npy'), path.join(EX, 'calib-y.npy'));
  const d = openTrainingData(spec, path.join(EX, 'train.npz'), undefined, 2 ** 30);
  assert.equal(d.count, 8000);
  assert.deepEqual(
    d.rows(Int32Array.from([3, 999])),
    Float32Array.from([...calib.x.subarray(3 * 784, 4 * 784), ...calib.x.subarray(999 * 784, 1000 * 784)]),
  );
  assert.deepEqual(d.labels.subarray(0, 1000), calib.labels);
});

test('an .npz whose inputs exceed the memory limit is refused before inflating; .npy is suggested', () => {
  assert.throws(
    () => openTrainingData(spec, path.join(EX, 'train.npz'), undefined, 3e6),
    (e: unknown) => e instanceof WoodFisherError && e.code === 'MEMORY' && /save the inputs as \.npy/.test(e.message),
  );
});

test('bad training data: one clear line each', () => {
  const dir = tmp();
  const nan = path.join(dir, 'nan.npy');
  const x = new Float32Array(4 * 784);
  x[784 + 5] = NaN;
  fs.writeFileSync(nan, formatNpy(x, [4, 784]));
  const y = path.join(dir, 'y.npy');
  fs.writeFileSync(y, formatNpy(Int32Array.from([1, 2, 3, 4]), [4]));
  const d = openTrainingData(spec, nan, y, 2 ** 30);
  assert.throws(() => d.rows([1]), /sample 1 contains NaN/);
  d.close();
  const cases: [() => unknown, RegExp][] = [
    [() => openTrainingData(spec, nan, undefined, 2 ** 30), /needs labels.*--train-labels/],
    [() => openTrainingData(spec, path.join(dir, 'missing.npy'), y, 2 ** 30), /not found/],
    [() => openTrainingData({ inputShape: [28, 28, 1], numClasses: 10 }, nan, y, 2 ** 30), /the model expects/],
    [() => openTrainingData(spec, path.join(EX, 'calib-x.npy'), y, 2 ** 30), /has 4 labels but calib-x\.npy has 1000 samples/],
  ];
  fs.writeFileSync(path.join(dir, 'short.npy'), formatNpy(new Float32Array(2 * 784), [4, 784]).subarray(0, 128 + 784 * 4));
  cases.push([() => openTrainingData(spec, path.join(dir, 'short.npy'), y, 2 ** 30), /truncated/]);
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof WoodFisherError && re.test(e.message) && !e.message.includes('\n'), String(re));
  }
});
