// Per-layer sensitivity on MLPNet: each point equals an independent runPrune that prunes that layer alone (others
// excluded, per-layer scope), the model is left as loaded, and the scan streams its points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPrune } from '../../src/engine/prune';
import { runSensitivity, type SensitivityPoint } from '../../src/engine/sensitivity';
import { DEFAULT_OPTIONS, type PruneEvent, type PruneOptions } from '../../src/engine/types';

const EX = path.resolve(__dirname, '../../examples');
const base = (over: Partial<PruneOptions> = {}): PruneOptions => ({
  ...DEFAULT_OPTIONS,
  modelPath: path.join(EX, 'mlpnet/model.json'),
  outDir: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-sens-')), 'out'),
  dataPath: path.join(EX, 'data/calib-x.npy'),
  labelsPath: path.join(EX, 'data/calib-y.npy'),
  evalPath: path.join(EX, 'data/test-x.npy'),
  evalLabelsPath: path.join(EX, 'data/test-y.npy'),
  sparsity: 0.9,
  samples: 64,
  damp: 1e-4,
  backend: 'cpu',
  ...over,
});
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

test('woodfisher sensitivity: every (layer, sparsity) point is that layer pruned alone; nothing written, model untouched', async () => {
  const before = fs.readFileSync(path.join(EX, 'mlpnet/model.json'));
  const streamed: SensitivityPoint[] = [];
  const events: PruneEvent[] = [];
  const o = base();
  const sparsities = [0.95, 0.5, 0.8];
  const r = await runSensitivity(o, sparsities, undefined, { onPoint: p => streamed.push(p), onEvent: e => events.push(e) });
  assert.deepEqual(r.sparsities, [0.5, 0.8, 0.95]);
  assert.deepEqual(
    r.layers.map(l => l.name),
    ['fc1', 'fc2', 'fc3'],
  );
  assert.equal(r.on, 'eval');
  assert.equal(r.points.length, 9);
  assert.deepEqual(streamed, r.points);
  assert.ok(!events.some(e => e.type === 'layer' || e.type === 'done'), "probe results are not reported as the model's");
  assert.ok(
    events.some(e => e.type === 'stage' && e.stage === 'blocks'),
    'progress streamed',
  );
  assert.equal(fs.existsSync(o.outDir), false, 'a scan writes nothing');
  assert.ok(fs.readFileSync(path.join(EX, 'mlpnet/model.json')).equals(before));
  // the reference: an ordinary run that prunes one layer and excludes the others
  for (const p of r.points.filter(p => p.sparsity === 0.95 || (p.layer === 'fc2' && p.sparsity === 0.5))) {
    const exclude = Object.fromEntries(r.layers.filter(l => l.name !== p.layer).map(l => [l.name, { exclude: true }]));
    const ref = await runPrune(base({ sparsity: p.sparsity, scope: 'layer', layers: exclude }));
    const refLayer = ref.layers.find(l => l.name === p.layer)!;
    assert.ok(Math.abs(p.achieved - refLayer.sparsity) < 1e-12, `${p.layer}@${p.sparsity}: achieved ${p.achieved} vs ${refLayer.sparsity}`);
    assert.ok(rel(p.loss, ref.after!.loss) < 1e-5, `${p.layer}@${p.sparsity}: loss ${p.loss} vs ${ref.after!.loss}`);
    assert.ok(
      Math.abs(p.accuracy - ref.after!.accuracy) < 1e-9,
      `${p.layer}@${p.sparsity}: accuracy ${p.accuracy} vs ${ref.after!.accuracy}`,
    );
    assert.ok(rel(r.dense.loss, ref.before!.loss) < 1e-6, 'dense baseline');
  }
  // more pruning of the same layer never helps much: the loss at 95% is above the loss at 50% for the big layer
  const fc1 = r.points.filter(p => p.layer === 'fc1');
  assert.ok(fc1[2].loss > fc1[0].loss, `fc1 losses ${fc1.map(p => p.loss)}`);
});

test('magnitude sensitivity on one chosen layer without eval data: measured on the labelled calibration set', async () => {
  const r = await runSensitivity(base({ method: 'magnitude', evalPath: undefined, evalLabelsPath: undefined }), [0.5, 0.9], ['fc2']);
  assert.equal(r.on, 'calibration');
  assert.deepEqual(
    r.points.map(p => [p.layer, p.sparsity]),
    [
      ['fc2', 0.5],
      ['fc2', 0.9],
    ],
  );
  for (const p of r.points) assert.ok(Math.abs(p.achieved - p.sparsity) < 0.01, `achieved ${p.achieved}`);
  await assert.rejects(runSensitivity(base(), [0.5], ['nope']), /not prunable layers of the model: nope/);
  await assert.rejects(runSensitivity(base(), [1.2]), /sparsity must be in \(0, 1\)/);
});
