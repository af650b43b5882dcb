import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { tf, initBackend } from '../../../src/engine/backend';
import { runStructuredPrune, unitLayers } from '../../../src/engine/structured/prune';
import { inspectModel } from '../../../src/engine/prune';
import { loadModel } from '../../../src/engine/model/load';
import { channelGraph } from '../../../src/engine/structured/graph';
import { MacCounter } from '../../../src/engine/structured/cost';
import { DEFAULT_OPTIONS, type PruneOptions, type PruneEvent, type PruneReport, type RunHooks } from '../../../src/engine/types';
import { mlp, tempDir, tfLoad } from '../model/fixtures';
import { buildMobileNetV2, saveModelFolder, writeCalibration } from '../../fixtures/mobilenetv2';
import { residualConcatNet } from './fixtures';

const examples = path.resolve(__dirname, '../../../examples');
before(async () => {
  await initBackend('wasm');
});

function options(over: Partial<PruneOptions>): PruneOptions {
  return {
    ...DEFAULT_OPTIONS,
    modelPath: '',
    dataPath: `${examples}/data/calib-x.npy`,
    labelsPath: `${examples}/data/calib-y.npy`,
    outDir: path.join(tempDir('wf-struct-run-'), 'out'),
    sparsity: 0.5,
    samples: 64,
    structure: 'neurons',
    backend: 'wasm',
    ...over,
  };
}

test('MacCounter: an MLP by hand; removing classes counts the same MACs as the shrunk model itself', async () => {
  const m = mlp([10, 8, 6, 3]);
  const g = channelGraph(m),
    c = new MacCounter(m, g);
  assert.equal(c.total(), 10 * 8 + 8 * 6 + 6 * 3);
  c.remove(0);
  c.remove(9); // one unit of each hidden layer
  assert.equal(c.total(), 10 * 7 + 7 * 5 + 5 * 3);
  c.restore(0);
  assert.equal(c.total(), 10 * 8 + 8 * 5 + 5 * 3);
  const net = residualConcatNet();
  const gn = channelGraph(net),
    cn = new MacCounter(net, gn);
  // stem 8·8·27·6, each block 8·8·(6·12 + 9·12 + 12·6), branches 8·8·(6·4 + 54·5), fc 9·7 + 7·4
  assert.equal(cn.total(), 64 * 27 * 6 + 2 * 64 * (72 + 108 + 72) + 64 * (24 + 270) + 63 + 28);
  m.dispose();
  net.dispose();
});

test('MLPNet example: units removed layer by layer, model physically smaller, loads in TF.js, report complete', async () => {
  const events: PruneEvent[] = [];
  const o = options({
    modelPath: `${examples}/mlpnet/model.json`,
    scope: 'layer',
    evalPath: `${examples}/data/test-x.npy`,
    evalLabelsPath: `${examples}/data/test-y.npy`,
  });
  const r = await runStructuredPrune(o, { onEvent: e => events.push(e) });
  const s = r.structure!;
  assert.deepEqual(
    r.layers.map(l => l.units),
    [
      { kept: 20, of: 40 },
      { kept: 10, of: 20 },
      { kept: 10, of: 10 },
    ],
  );
  assert.equal(s.units.removed, 30);
  assert.equal(s.after.params, 784 * 20 + 20 * 10 + 10 * 10);
  assert.equal(s.after.flops, 2 * s.after.params);
  assert.equal(s.before.flops, 2 * 32360);
  assert.ok(s.after.latencyMs.batch1 > 0 && s.before.latencyMs.batch32 > 0);
  assert.ok(r.after!.accuracy > 0.2, `accuracy after ${r.after!.accuracy}`);
  const out = await tfLoad(path.join(o.outDir, 'model.json'));
  assert.equal(out.countParams(), s.after.params);
  const saved = JSON.parse(fs.readFileSync(path.join(o.outDir, 'report.json'), 'utf8'));
  assert.equal(saved.structure.after.params, s.after.params);
  assert.ok(events.some(e => e.type === 'done'));
  out.dispose();
});

test('target FLOPs: removes units until FLOPs ≤ the target; per-layer minimums hold', async () => {
  const o = options({ modelPath: `${examples}/cnn/model.json`, targetFlops: 0.5, minKeep: 0.25, method: 'woodfisher' });
  const r = await runStructuredPrune(o);
  const s = r.structure!;
  assert.ok(s.after.flops <= 0.5 * s.before.flops, `${s.after.flops} vs ${s.before.flops}`);
  assert.ok(s.after.flops > 0.3 * s.before.flops, 'not far below the target');
  for (const l of r.layers) if (l.units) assert.ok(l.units.kept >= Math.max(1, Math.ceil(0.25 * l.units.of)));
});

test('MobileNetV2 fixture: residual stages, BatchNorm and depthwise shrink together; TF.js loads the output', async () => {
  const dir = tempDir('wf-struct-mnv2-');
  const model = buildMobileNetV2({ inputSize: 32, alpha: 0.35, stages: 3, classes: 10, lastChannels: 64, calibrate: 8 });
  const modelPath = await saveModelFolder(model, path.join(dir, 'model'));
  const { x, y } = writeCalibration(path.join(dir, 'data'), 16, 32, 10);
  const o = options({ modelPath, dataPath: x, labelsPath: y, samples: 16, sparsity: 0.3, blockSize: 64, damp: 1e-3 });
  const r = await runStructuredPrune(o);
  const out = await tfLoad(path.join(o.outDir, 'model.json'));
  assert.ok(out.countParams() < model.countParams());
  assert.equal(out.countParams(), r.structure!.after.params);
  assert.ok(r.structure!.after.flops < r.structure!.before.flops);
  const pred = out.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor;
  assert.deepEqual(pred.shape, [2, 10]);
  assert.ok(
    r.layers.some(l => l.kind === 'DepthwiseConv2D' && l.units && l.units.kept < l.units.of),
    'depthwise channels removed',
  );
  tf.dispose([pred]);
  out.dispose();
  model.dispose();
});

/** A small MobileNetV2-shaped model (32×32, α 0.35, 3 stages) and n unlabeled calibration images in a new folder. */
async function smallMobileNet(prefix: string, seed: number, n: number) {
  const dir = tempDir(prefix);
  const model = buildMobileNetV2({ inputSize: 32, alpha: 0.35, stages: 3, classes: 10, lastChannels: 64, calibrate: 8, seed });
  const modelPath = await saveModelFolder(model, path.join(dir, 'model'));
  model.dispose();
  return { dir, modelPath, ...writeCalibration(path.join(dir, 'data'), n, 32, 10, seed) };
}

/** A structured run on that model, 30 % of units, blocks of 64, labels drawn from the model, under a memory limit. */
const unitRun = (f: Awaited<ReturnType<typeof smallMobileNet>>, samples: number, maxMemoryBytes: number, out: string, hooks?: RunHooks) =>
  runStructuredPrune(
    options({
      modelPath: f.modelPath,
      dataPath: f.x,
      labelsPath: undefined,
      samples,
      blockSize: 64,
      method: 'woodfisher',
      sparsity: 0.3,
      damp: 1e-3,
      maxMemoryBytes,
      outDir: path.join(f.dir, out),
    }),
    hooks,
  );

/** The weight shards a run wrote, byte for byte. */
const shards = (r: PruneReport) =>
  fs
    .readdirSync(r.output)
    .filter(f => f.endsWith('.bin'))
    .map(f => fs.readFileSync(path.join(r.output, f)));

test('MobileNetV2 fixture under limits only streaming meets: gradients layer group by layer group, the very same units and written model', async () => {
  // no labels: they are drawn from the model's softmax, and every later group must reuse the first pass's draws
  const f = await smallMobileNet('wf-struct-stream-', 4, 24);
  const { modelPath } = f;
  const settings = { samples: 24, blockSize: 64, method: 'woodfisher' as const };
  // the structured plan as inspect shows it, at each limit just under the last plan: every choice down to the tightest
  const plans: { limit: number; plan: Awaited<ReturnType<typeof inspectModel>>['memory'] }[] = [];
  for (let limit = 2 ** 50; ;) {
    const plan = (await inspectModel(modelPath, { ...settings, structure: 'neurons', backend: 'wasm', maxMemoryBytes: limit })).memory;
    if (!plan.fits) break;
    plans.push({ limit, plan });
    limit = plan.totalBytes - 1;
  }
  const kind = (p: (typeof plans)[number]['plan']) => `${p.gradients}, ${p.strategy}`;
  assert.equal(kind(plans[0].plan), 'in memory, keep');
  const streamed = plans.filter(p => p.plan.gradients === 'streamed');
  assert.ok(streamed.length > 0 && streamed[streamed.length - 1].plan.groups!.length >= 3, 'tight limits stream in several groups');
  // the first plan of each kind (in memory: kept, rebuilt; streamed: kept, rebuilt, as the sizes make them), and the tightest
  const runs = [...new Set(plans.map(p => kind(p.plan)))].map(k => plans.find(p => kind(p.plan) === k)!);
  runs.push(streamed[streamed.length - 1]);
  // the tightest plan streams one or two layers at a time: Add-tied projections and depthwise members land in
  // different groups, so a unit class's rows are scored in different passes and only summed afterwards
  const groups = runs[runs.length - 1].plan.groups!;
  const m = await loadModel(modelPath);
  const { layers } = unitLayers(m);
  m.model.dispose();
  const groupOf = new Map(groups.flatMap((g, i) => g.map(name => [name, i] as const)));
  const classGroups = new Map<number, Set<number>>();
  for (const s of layers)
    s.rowClass.forEach(c => c >= 0 && classGroups.set(c, (classGroups.get(c) ?? new Set()).add(groupOf.get(s.layer.name)!)));
  assert.ok(
    [...classGroups.values()].some(g => g.size > 1),
    'some unit class spans two layer groups',
  );

  const results: PruneReport[] = [];
  for (const [i, { limit, plan }] of runs.entries()) {
    const events: PruneEvent[] = [];
    const r = await unitRun(f, 24, limit, `out-${i}`, { onEvent: e => events.push(e) });
    assert.deepEqual({ ...r.memory, limitBytes: 0 }, { ...plan, limitBytes: 0 }, 'the run plans what inspect showed');
    const passes = events.filter(e => e.type === 'stage' && e.stage === 'gradients' && e.done === e.total).length;
    const G = plan.groups?.length ?? 1;
    assert.equal(passes, plan.strategy === 'rebuild' && G > 1 ? 2 * G - 1 : G, `${kind(plan)}: gradient passes`);
    if (plan.gradients === 'streamed' || plan.strategy === 'rebuild')
      assert.ok(
        events.some(e => e.type === 'log' && e.message === `memory plan: ${plan.why}`),
        'the run says why',
      );
    results.push(r);
  }
  const unitsKept = (r: PruneReport) => r.layers.map(l => l.units);
  assert.ok(results[0].structure!.units.removed > 0);
  for (const [i, r] of results.entries()) {
    assert.equal(r.settings.labels, 'sampled');
    assert.deepEqual(unitsKept(r), unitsKept(results[0]), `${kind(runs[i].plan)}: the same units`);
    assert.deepEqual(
      r.layers.map(l => [l.threshold, l.saliency]),
      results[0].layers.map(l => [l.threshold, l.saliency]),
      `${kind(runs[i].plan)}: the same saliencies`,
    );
    assert.deepEqual(shards(r), shards(results[0]), `${kind(runs[i].plan)}: the written weights are byte for byte the same`);
  }
});

test('MobileNetV2 fixture, N = 512: gradients streamed with every inverse block kept give the very same model', async () => {
  const f = await smallMobileNet('wf-struct-stream-keep-', 5, 512);
  const { modelPath } = f;
  const settings = { samples: 512, blockSize: 64, method: 'woodfisher' as const };
  const planned = async (maxMemoryBytes: number) =>
    (await inspectModel(modelPath, { ...settings, structure: 'neurons', backend: 'wasm', maxMemoryBytes })).memory;
  // the inverse blocks (primal, 64 × 64 each) are small beside 512 × d gradients: half of these gone, the rest fits
  const all = await planned(2 ** 50);
  const bytes = (prefix: string) => all.items.find(i => i.what.startsWith(prefix))!.bytes;
  const limit = all.totalBytes - Math.round(bytes('per-sample gradients') / 2);
  const plan = await planned(limit);
  assert.equal(`${plan.gradients}, ${plan.strategy}`, 'streamed, keep');
  const run = (maxMemoryBytes: number, out: string) => unitRun(f, 512, maxMemoryBytes, out);
  const a = await run(2 ** 50, 'a');
  const b = await run(limit, 'b');
  assert.equal(a.memory.gradients, 'in memory');
  assert.deepEqual({ ...b.memory, limitBytes: 0 }, { ...plan, limitBytes: 0 });
  assert.deepEqual(b.layers, a.layers, 'the same units, thresholds and saliencies');
  assert.deepEqual(shards(b), shards(a), 'the written weights are byte for byte the same');
});

test('excluded layers keep their units and are left out of the gradients (the plan is smaller; --exclude is a memory knob)', async () => {
  const { modelPath, x, y } = await smallMobileNet('wf-struct-exclude-', 6, 16);
  const layers = { Conv_1: { exclude: true } }; // the largest layer with removable units
  const plan = async (o: Partial<PruneOptions>) =>
    inspectModel(modelPath, { samples: 16, blockSize: 64, backend: 'wasm', structure: 'neurons', ...o });
  const [all, less] = [await plan({}), await plan({ layers })];
  const gradients = (r: typeof all) => r.memory.items.find(i => i.what.startsWith('per-sample gradients'))!.bytes;
  const m = await loadModel(modelPath);
  const conv1 = m.prunable.find(l => l.name === 'Conv_1')!.size;
  m.model.dispose();
  assert.deepEqual(
    less.structure!.layers,
    all.structure!.layers.filter(n => n !== 'Conv_1'),
  );
  assert.equal(gradients(all) - gradients(less), 4 * 16 * conv1);
  const events: PruneEvent[] = [];
  const r = await runStructuredPrune(
    options({ modelPath, dataPath: x, labelsPath: y, samples: 16, blockSize: 64, damp: 1e-3, sparsity: 0.3, layers }),
    {
      onEvent: e => events.push(e),
    },
  );
  const c = r.layers.find(l => l.name === 'Conv_1')!;
  assert.deepEqual([c.excluded, c.units, c.blocks], [true, { kept: 64, of: 64 }, 0]);
  assert.ok(!events.some(e => e.type === 'stage' && e.stage === 'blocks' && e.layer === 'Conv_1'), 'no Fisher blocks for it');
  assert.ok(r.structure!.units.removed > 0, 'the other layers lose units');
  await assert.rejects(
    runStructuredPrune(
      options({
        modelPath,
        dataPath: x,
        labelsPath: y,
        samples: 16,
        layers: Object.fromEntries(all.structure!.layers.map(n => [n, { exclude: true }])),
      }),
    ),
    /every layer with removable units is excluded/,
  );
});

test('a memory limit below the plan is one clear error before any gradient is computed', async () => {
  const events: PruneEvent[] = [];
  await assert.rejects(
    runStructuredPrune(options({ modelPath: `${examples}/mlpnet/model.json`, maxMemoryBytes: 1e5 }), { onEvent: e => events.push(e) }),
    (e: Error) => e.name === 'WoodFisherError' && /memory/i.test(e.message),
  );
  assert.ok(!events.some(e => e.type === 'stage' && e.stage === 'gradients'), 'no gradients computed');
});

test('a fraction the per-layer minimums cannot meet removes what it can and says so', async () => {
  const events: PruneEvent[] = [];
  const r = await runStructuredPrune(options({ modelPath: `${examples}/cnn/model.json`, sparsity: 0.95, method: 'magnitude' }), {
    onEvent: e => events.push(e),
  });
  assert.deepEqual(r.layers[0].units, { kept: 1, of: 8 });
  assert.ok(
    events.some(e => e.type === 'log' && e.level === 'warn' && /1 units asked for stay/.test(e.message)),
    'a warning names the shortfall',
  );
  const quiet: PruneEvent[] = [];
  await runStructuredPrune(options({ modelPath: `${examples}/cnn/model.json`, sparsity: 0.5, method: 'magnitude' }), {
    onEvent: e => quiet.push(e),
  });
  assert.ok(!quiet.some(e => e.type === 'log' && /asked for stay/.test(e.message)));
});

test('unlabeled evaluation data: the shrunk model is judged by agreement with the dense one and KL to it', async () => {
  const r = await runStructuredPrune(
    options({ modelPath: `${examples}/mlpnet/model.json`, method: 'magnitude', sparsity: 0.3, evalPath: `${examples}/data/test-x.npy` }),
  );
  assert.equal(r.before?.reference, 'dense');
  assert.equal(r.before?.accuracy, 1, 'the dense model agrees with itself');
  assert.ok(Math.abs(r.before!.loss) < 1e-6, `KL of the dense model to itself is 0, got ${r.before!.loss}`);
  assert.equal(r.after?.reference, 'dense');
  assert.ok(
    r.after!.accuracy > 0 && r.after!.accuracy < 1,
    `some predictions change after removing 30% of the units: ${r.after!.accuracy}`,
  );
  assert.ok(r.after!.loss > 0, 'KL grows');
  assert.equal(r.settings.dataPath, undefined, 'a magnitude run lists no calibration data among its settings');
});

test('sampleLabels: the gradients take labels drawn from the model (the true Fisher), as in one-shot runs', async () => {
  const f = await smallMobileNet('wf-struct-labels-', 7, 16); // random weights: the model's draws differ from the given labels
  const run = (sampleLabels: boolean) =>
    runStructuredPrune(
      options({
        modelPath: f.modelPath,
        dataPath: f.x,
        labelsPath: f.y,
        samples: 16,
        blockSize: 64,
        damp: 1e-3,
        sparsity: 0.3,
        sampleLabels,
      }),
    );
  const [given, drawn] = [await run(false), await run(true)];
  assert.equal(given.settings.labels, 'given');
  assert.equal(drawn.settings.labels, 'sampled');
  assert.notDeepEqual(
    drawn.layers.map(l => l.saliency),
    given.layers.map(l => l.saliency),
  );
});

test('magnitude and diagonal-Fisher units: a unit scores the sum of its row (L1 norm; Σ ½ F_qq w_q²)', async () => {
  const r = await runStructuredPrune(options({ modelPath: `${examples}/mlpnet/model.json`, method: 'diagfisher', sparsity: 0.3 }));
  const shrunk = r.layers.filter(l => l.units && l.units.kept < l.units.of);
  assert.ok(shrunk.length > 0, 'some layer lost units');
  for (const l of shrunk) assert.equal(l.form, 'diagonal', l.name);
  const m = await runStructuredPrune(options({ modelPath: `${examples}/mlpnet/model.json`, method: 'magnitude', sparsity: 0.3 }));
  const first = m.layers[0];
  // the unit with the smallest L1 row norm is among those removed: the threshold is at least the least row norm
  const model = await tfLoad(`${examples}/mlpnet/model.json`);
  const kernel = (await model.layers
    .find(l => l.name === first.name)!
    .getWeights()[0]
    .array()) as number[][];
  const rowNorms = kernel[0].map((_, unit) => kernel.reduce((a, row) => a + Math.abs(row[unit]), 0));
  assert.ok(first.threshold >= Math.min(...rowNorms) - 1e-6, `${first.threshold} < ${Math.min(...rowNorms)}`);
  model.dispose();
});
