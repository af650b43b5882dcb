// The panel's reducer: engine events and reports fold into the snapshot the webview renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, applyReport, emptySnapshot } from '../../src/extension/snapshot';
import type { LayerResult, PanelSnapshot, PrunableLayer, PruneEvent, PruneReport } from '../../src/protocol';

const layer = (name: string, pruned: number): LayerResult => ({
  name,
  kind: 'Dense',
  weights: 100,
  pruned,
  sparsity: pruned / 100,
  threshold: 0.1,
  saliency: { min: 0, median: 1, max: 2 },
  blocks: 1,
});
const prunable = (name: string): PrunableLayer => ({
  name,
  kind: 'Dense',
  weightName: `${name}/kernel`,
  shape: [10, 10],
  torchShape: [10, 10],
  size: 100,
});
const memory = { items: [], totalBytes: 1, limitBytes: 2, fits: true };
const fold = (events: PruneEvent[], s: PanelSnapshot = emptySnapshot('/m/model.json', 'm')) => events.reduce(applyEvent, s);

test('an empty snapshot is idle, in prune mode, with nothing to show', () => {
  assert.deepEqual(emptySnapshot('/m/model.json', 'm'), {
    modelPath: '/m/model.json',
    title: 'm',
    mode: 'prune',
    status: 'idle',
    layers: [],
    log: [],
  });
});

test("layer results follow the plan's order, and a later step replaces a layer's earlier result", () => {
  const s = fold([
    { type: 'plan', layers: [prunable('a'), prunable('b'), prunable('c')], memory, backend: 'wasm' },
    { type: 'layer', result: layer('c', 10), step: 1 },
    { type: 'layer', result: layer('a', 20), step: 1 },
    { type: 'layer', result: layer('a', 50), step: 2 },
  ]);
  assert.deepEqual(
    s.layers.map(l => [l.name, l.pruned]),
    [
      ['a', 50],
      ['c', 10],
    ],
  );
  assert.equal(s.backend, 'wasm');
  assert.deepEqual(
    s.prunable?.map(p => p.name),
    ['a', 'b', 'c'],
  );
});

test('stage, eval, log and damp events land where the panel reads them; the log keeps the last 50 lines', () => {
  const stage: PruneEvent = { type: 'stage', stage: 'blocks', done: 3, total: 9, layer: 'a' };
  const s = fold([
    stage,
    { type: 'eval', which: 'before', result: { accuracy: 0.9, loss: 0.3, samples: 10 } },
    { type: 'eval', which: 'after', result: { accuracy: 0.8, loss: 0.5, samples: 10 } },
    { type: 'damp', damp: 1e-3, relative: 0.1, loss: 0.25, accuracy: 0.875 },
    { type: 'damp', damp: 1e-3, relative: 0.1, loss: 0.25, accuracy: 0.875, chosen: true },
    ...Array.from({ length: 60 }, (_, i): PruneEvent => ({ type: 'log', level: 'warn', message: `line ${i}` })),
  ]);
  assert.equal(s.stage, stage);
  assert.equal(s.before?.accuracy, 0.9);
  assert.equal(s.after?.accuracy, 0.8);
  assert.equal(s.damp, 1e-3);
  assert.equal(s.log.length, 50);
  assert.equal(s.log.at(-1), 'warn: line 59');
  assert.equal(s.log[0], 'warn: line 10', 'the candidate λ line scrolled out with the oldest lines');
  const one = fold([{ type: 'damp', damp: 2e-4, relative: 1, loss: 0.125, accuracy: 0.5 }]);
  assert.deepEqual(one.log, ['info: λ = 2.00e-4 (1 × mean Fisher diagonal): calibration loss 0.1250, accuracy 50.0%']);
  assert.equal(one.damp, undefined, 'a candidate is not the chosen λ');
});

test('the report ends the run: done, its layers, sparsity, time and paths; earlier evaluations kept if it has none', () => {
  const report = {
    version: 1,
    model: '/m/model.json',
    output: '/out',
    backend: 'wasm',
    linalg: 'js',
    layers: [layer('a', 90)],
    sparsity: { target: 0.9, achieved: 0.9, pruned: 90, weights: 100 },
    seconds: { total: 2.5 },
    memory,
    steps: 1,
    damp: 1e-5,
  } as unknown as PruneReport;
  const running: PanelSnapshot = {
    ...emptySnapshot('/m/model.json', 'm'),
    status: 'error',
    error: 'old',
    before: { accuracy: 0.7, loss: 1, samples: 5 },
  };
  const s = applyEvent(running, { type: 'done', report, reportPath: '/out/report.json', modelPath: '/out/model.json' });
  assert.equal(s.status, 'done');
  assert.equal(s.error, undefined);
  assert.equal(s.backend, 'wasm · linalg js');
  assert.deepEqual(s.layers, report.layers);
  assert.equal(s.seconds, 2.5);
  assert.equal(s.outDir, '/out');
  assert.equal(s.reportPath, '/out/report.json');
  assert.equal(s.before?.accuracy, 0.7);
  assert.equal(s.damp, 1e-5);
  assert.equal(applyReport({ ...running, reportPath: '/kept' }, { ...report, linalg: undefined }).reportPath, '/kept');
  assert.equal(applyReport(running, { ...report, linalg: undefined }).backend, 'wasm');
  // where the gradient pass ran, without the report's reason for not using onnxruntime
  assert.equal(
    applyReport(running, { ...report, gradientPass: 'onnxruntime (2 threads)' }).backend,
    'wasm · gradients onnxruntime (2 threads) · linalg js',
  );
  assert.equal(
    applyReport(running, { ...report, gradientPass: 'TF.js wasm (not onnxruntime: no convolutions: …)' }).backend,
    'wasm · gradients TF.js wasm · linalg js',
  );
  // the notices of a run on slower runtimes reach the panel (#notes), tfjs-node's first
  assert.deepEqual(s.notes, []);
  const noted = applyReport(running, {
    ...report,
    backendNote: 'TF.js ran on wasm: …',
    linalgNote: 'the Fisher products run in plain JavaScript …',
  });
  assert.deepEqual(noted.notes, ['TF.js ran on wasm: …', 'the Fisher products run in plain JavaScript …']);
  // the download size and the encodings written reach the panel's size bar
  const size = {
    input: { raw: 131_000, gzip: 120_000, brotli: 118_000, files: 2 },
    output: { raw: 34_000, gzip: 20_000, brotli: 19_900, files: 2 },
  };
  const quantization = { mode: 'keep', encodings: { uint8: 2, raw: 1 }, relError: 1e-3, maxRelError: 2e-3, weights: [] };
  const sized = applyReport(running, { ...report, size, quantization } as unknown as PruneReport);
  assert.deepEqual(sized.size, size);
  assert.equal(sized.encodings, 'uint8');
});

test("a structured run's report carries its units, params, FLOPs and latency into the snapshot; an unstructured one clears them", () => {
  const cost = (p: number) => ({ params: p, flops: 2 * p, latencyMs: { batch1: 0.5, batch32: 2 } });
  const structure = {
    units: { removed: 4, removable: 8, total: 18 },
    classes: 8,
    update: 'group',
    constants: { folded: 4, dropped: 0 },
    before: cost(100),
    after: cost(50),
    notes: [],
  };
  const report = {
    version: 1,
    model: '/m/model.json',
    output: '/out',
    backend: 'wasm',
    layers: [{ ...layer('a', 50), units: { kept: 4, of: 8 } }],
    sparsity: { target: 0.5, achieved: 0.5, pruned: 50, weights: 100 },
    seconds: { total: 1 },
    memory,
    steps: 1,
    structure,
  } as unknown as PruneReport;
  const s = applyReport(emptySnapshot('/m/model.json', 'm'), report);
  assert.deepEqual(s.structure, structure);
  assert.deepEqual(s.layers[0].units, { kept: 4, of: 8 });
  assert.equal(applyReport(s, { ...report, structure: undefined }).structure, undefined);
});
