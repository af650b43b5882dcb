// Gradual pruning of a MobileNetV2-class model (BatchNorm, depthwise, residual Add): fine-tuning runs BatchNorm in
// training mode (its moving statistics move), Conv2D and depthwise kernels keep their masks exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, tf } from '../../../src/engine/backend';
import { runGradual } from '../../../src/engine/gradual/run';
import { loadModel, readKernel } from '../../../src/engine/model/load';
import { DEFAULT_OPTIONS, type GradualOptions } from '../../../src/engine/types';
import { buildMobileNetV2, saveModelFolder, writeCalibration } from '../../fixtures/mobilenetv2';

test('MobileNetV2-class: BatchNorm statistics follow the fine-tuning; Conv2D and depthwise masks hold', async () => {
  await initBackend('wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-gradual-bn-'));
  const net = buildMobileNetV2({ inputSize: 16, alpha: 0.35, stages: 2, classes: 4, calibrate: 8, seed: 5 });
  const modelPath = await saveModelFolder(net, path.join(dir, 'model'));
  net.dispose();
  const { x, y } = writeCalibration(path.join(dir, 'data'), 48, 16, 4, 7);
  const o = {
    ...DEFAULT_OPTIONS,
    modelPath,
    dataPath: x,
    labelsPath: y,
    outDir: path.join(dir, 'out'),
    sparsity: 0.5,
    epochs: 2,
    method: 'global-magnitude',
    batchSize: 16,
    lr: 0.01,
    pruneStart: 0,
    pruneEnd: 1,
    pruneEvery: 1,
    initialSparsity: 0.3,
    backend: 'wasm',
  } as GradualOptions;
  const report = await runGradual(o);

  const before = await loadModel(modelPath),
    after = await loadModel(path.join(o.outDir, 'model.json'));
  try {
    const bn = before.model.layers.filter(l => l.getClassName() === 'BatchNormalization');
    assert.ok(bn.length >= 3, 'the fixture has BatchNorm layers');
    const moving = (m: tf.LayersModel, name: string) =>
      m
        .getLayer(name)
        .weights.filter(w => /moving_(mean|variance)/.test(w.originalName))
        .map(w => Array.from(w.read().dataSync()));
    for (const l of bn)
      assert.notDeepEqual(
        moving(after.model, l.name),
        moving(before.model, l.name),
        `${l.name}: moving statistics updated in training mode`,
      );
    const kinds = new Set(after.prunable.map(l => l.kind));
    assert.ok(kinds.has('DepthwiseConv2D') && kinds.has('Conv2D'), `prunable kinds: ${[...kinds]}`);
    const last = report.gradual.steps[report.gradual.steps.length - 1];
    for (const l of after.prunable) {
      const zeros = readKernel(after, l).filter(v => v === 0).length;
      const pruned = last.layers.find(r => r.name === l.name)!.pruned;
      assert.equal(zeros, pruned, `${l.name} (${l.kind}): the last step's ${pruned} zeros, and no more or fewer after fine-tuning`);
    }
    assert.ok(Math.abs(report.sparsity.achieved - 0.5) < 1e-3);
  } finally {
    before.model.dispose();
    after.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
