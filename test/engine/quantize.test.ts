// The pipeline writes a smaller model: the input's encoding kept, --quantize honoured, exact zeros, sizes as on disk,
// and --eval measured on the weights as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPrune } from '../../src/engine/prune';
import { initBackend } from '../../src/engine/backend';
import { loadModel } from '../../src/engine/model/load';
import { gzipSize, brotliSize } from '../../src/engine/model/size';
import { loadDataset } from '../../src/engine/data/calibration';
import { evaluate } from '../../src/engine/gradients/evaluate';
import { DEFAULT_OPTIONS, WoodFisherError, type PruneOptions, type PruneReport } from '../../src/engine/types';
import { quantizeFolder, loadWithTfjs } from '../fixtures/converter';
import { buildMobileNetV2, saveModelFolder, writeCalibration } from '../fixtures/mobilenetv2';

const EX = path.resolve(__dirname, '../../examples');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wf-quant-'));
const data = {
  dataPath: path.join(EX, 'data/calib-x.npy'),
  labelsPath: path.join(EX, 'data/calib-y.npy'),
  evalPath: path.join(EX, 'data/test-x.npy'),
  evalLabelsPath: path.join(EX, 'data/test-y.npy'),
};

/** Sizes measured on the files themselves: model.json and the shards its manifest names. */
function onDisk(dir: string) {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const files = ['model.json', ...json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths)].map(
    f => new Uint8Array(fs.readFileSync(path.join(dir, f))),
  );
  return {
    json,
    raw: files.reduce((a, f) => a + f.length, 0),
    gzip: files.reduce((a, f) => a + gzipSize(f), 0),
    brotli: files.reduce((a, f) => a + brotliSize(f), 0),
  };
}

/** Zeros among the prunable kernels of the written model, read back by TF.js's own loader. */
async function zerosWritten(modelJson: string, kernels: string[]): Promise<number> {
  const model = await loadWithTfjs(modelJson);
  let zeros = 0;
  for (const w of model.weights) if (kernels.includes(w.originalName)) for (const v of w.read().dataSync()) if (v === 0) zeros++;
  model.dispose();
  return zeros;
}

function checkSizes(r: PruneReport, inDir: string) {
  const input = onDisk(inDir),
    output = onDisk(r.output);
  assert.deepEqual(
    [r.size!.input.raw, r.size!.input.gzip, r.size!.input.brotli],
    [input.raw, input.gzip, input.brotli],
    'input sizes as on disk',
  );
  assert.deepEqual(
    [r.size!.output.raw, r.size!.output.gzip, r.size!.output.brotli],
    [output.raw, output.gzip, output.brotli],
    'output sizes as on disk',
  );
  const stat = (d: string, j: any) =>
    ['model.json', ...j.weightsManifest[0].paths].reduce((a: number, f: string) => a + fs.statSync(path.join(d, f)).size, 0);
  assert.equal(r.size!.output.raw, stat(r.output, output.json));
  return { input, output };
}

test('a uint8 input pruned with defaults comes back uint8, exact zeros, no larger raw or gzip; sizes and accuracy as on disk', async () => {
  const root = tmp();
  const inDir = path.join(root, 'mlpnet-uint8');
  quantizeFolder(path.join(EX, 'mlpnet/model.json'), inDir, 'uint8');
  const o: PruneOptions = {
    ...DEFAULT_OPTIONS,
    ...data,
    modelPath: path.join(inDir, 'model.json'),
    outDir: path.join(root, 'out'),
    sparsity: 0.9,
    samples: 128,
  };
  const r = await runPrune(o);
  const { input, output } = checkSizes(r, inDir);
  for (const spec of output.json.weightsManifest[0].weights) assert.equal(spec.quantization?.dtype, 'uint8', spec.name);
  assert.ok(output.raw <= input.raw, `raw ${input.raw} → ${output.raw}`);
  assert.ok(output.gzip <= input.gzip, `gzip ${input.gzip} → ${output.gzip}`);
  assert.ok(output.gzip < 0.5 * input.gzip, `90% zeros should at least halve the gzip size: ${input.gzip} → ${output.gzip}`);
  assert.equal(
    await zerosWritten(path.join(r.output, 'model.json'), ['fc1/kernel', 'fc2/kernel', 'fc3/kernel']),
    r.sparsity.pruned,
    'every pruned weight decodes to exactly 0',
  );
  assert.equal(r.quantization!.mode, 'keep');
  assert.ok(r.quantization!.relError > 0 && r.quantization!.relError < 0.02, `re-quantization error ${r.quantization!.relError}`);
  // --eval measured the weights as written: the same figure from the files on disk
  const back = await loadModel(path.join(r.output, 'model.json'));
  const ev = await evaluate(back, await loadDataset(back, data.evalPath, data.evalLabelsPath));
  back.model.dispose();
  assert.equal(ev.accuracy, r.after!.accuracy);
  assert.ok(Math.abs(ev.loss - r.after!.loss) <= 1e-6 * Math.max(1, Math.abs(ev.loss)), `loss ${ev.loss} vs reported ${r.after!.loss}`);
});

test('--quantize writes every weight in the asked encoding with exact zeros; smaller than float32 raw and gzip', async () => {
  const root = tmp();
  const inDir = path.join(EX, 'cnn');
  const sizes: Record<string, number[]> = {};
  for (const q of ['none', 'float16', 'uint16', 'uint8'] as const) {
    const r = await runPrune({
      ...DEFAULT_OPTIONS,
      ...data,
      method: 'magnitude',
      modelPath: path.join(inDir, 'model.json'),
      outDir: path.join(root, q),
      sparsity: 0.8,
      quantize: q,
    });
    const { output } = checkSizes(r, inDir);
    for (const spec of output.json.weightsManifest[0].weights)
      assert.equal(spec.quantization?.dtype ?? 'float32', q === 'none' ? 'float32' : q, `${q}: ${spec.name}`);
    assert.equal(await zerosWritten(path.join(r.output, 'model.json'), ['conv1/kernel', 'fc/kernel']), r.sparsity.pruned, `${q}: zeros`);
    assert.equal(r.quantization!.relError === 0, q === 'none', `${q}: error ${r.quantization!.relError}`);
    sizes[q] = [r.size!.output.raw, r.size!.output.gzip];
  }
  assert.ok(sizes.float16[0] < sizes.none[0] && sizes.uint8[0] < sizes.float16[0], JSON.stringify(sizes));
  assert.ok(sizes.float16[1] < sizes.none[1] && sizes.uint8[1] < sizes.uint16[1], JSON.stringify(sizes));
});

test("a per-layer quantize override applies to that layer's weights only", async () => {
  const root = tmp();
  const r = await runPrune({
    ...DEFAULT_OPTIONS,
    ...data,
    method: 'magnitude',
    modelPath: path.join(EX, 'cnn/model.json'),
    outDir: path.join(root, 'o'),
    sparsity: 0.5,
    quantize: 'uint8',
    layers: { conv1: { quantize: 'none' } },
  });
  const json = JSON.parse(fs.readFileSync(path.join(r.output, 'model.json'), 'utf8'));
  const enc = Object.fromEntries(json.weightsManifest[0].weights.map((w: any) => [w.name, w.quantization?.dtype ?? 'float32']));
  assert.deepEqual(enc, { 'conv1/kernel': 'float32', 'conv1/bias': 'float32', 'fc/kernel': 'uint8', 'fc/bias': 'uint8' });
});

test('--target-size: the written model fits the gzip budget, in the encoding whose fitting model had the least calibration loss', async () => {
  const root = tmp();
  const budget = 24_000;
  const r = await runPrune({
    ...DEFAULT_OPTIONS,
    ...data,
    modelPath: path.join(EX, 'mlpnet/model.json'),
    outDir: path.join(root, 'o'),
    sparsity: 0,
    samples: 128,
    damp: 1e-6,
    targetSize: budget,
  });
  checkSizes(r, path.join(EX, 'mlpnet'));
  assert.ok(r.size!.output.gzip <= budget, `${r.size!.output.gzip} > ${budget}`);
  const t = r.targetSize!;
  assert.equal(t.budget, budget);
  assert.equal(t.candidates.length, 4, 'every encoding tried when --quantize is not given');
  const fits = t.candidates.filter(c => c.fits);
  assert.ok(fits.length >= 2, JSON.stringify(t.candidates));
  for (const c of fits) assert.ok(c.gzip! <= budget && c.sparsity! >= 0 && c.sparsity! < 1);
  const best = fits.reduce((a, b) => (b.loss! < a.loss! ? b : a));
  assert.deepEqual(t.chosen, { sparsity: best.sparsity, quantize: best.quantize });
  assert.equal(r.settings.quantize, best.quantize);
  assert.ok(Math.abs(r.sparsity.achieved - best.sparsity!) < 1e-3, `achieved ${r.sparsity.achieved} vs chosen ${best.sparsity}`);
  // one step at the given λ: the run is the candidate the search measured, byte for byte the same size
  assert.equal(r.size!.output.gzip, best.gzip);
  // coarser encodings need less sparsity to fit
  const need = Object.fromEntries(fits.map(c => [c.quantize, c.sparsity!]));
  if (need.uint8 !== undefined && need.none !== undefined) assert.ok(need.uint8 < need.none, JSON.stringify(need));
});

test('--target-size out of reach is one clear error, and nothing is written', async () => {
  const root = tmp();
  await assert.rejects(
    runPrune({
      ...DEFAULT_OPTIONS,
      ...data,
      method: 'magnitude',
      modelPath: path.join(EX, 'cnn/model.json'),
      outDir: path.join(root, 'o'),
      sparsity: 0,
      targetSize: 300,
      quantize: 'none',
    }),
    (e: unknown) =>
      e instanceof WoodFisherError &&
      e.code === 'OPTIONS' &&
      /no model of 300 B or less/.test(e.message) &&
      /drop --quantize/.test(e.message),
  );
  assert.ok(!fs.existsSync(path.join(root, 'o')));
});

test('MobileNetV2 (BatchNorm, depthwise, residual Add), uint8 from the converter: WoodFisher defaults keep it uint8, no larger, zeros exact, eval as on disk', async () => {
  await initBackend('auto');
  const root = tmp();
  const f32 = await saveModelFolder(
    buildMobileNetV2({ inputSize: 32, alpha: 0.35, stages: 3, classes: 10, lastChannels: 64, calibrate: 8 }),
    path.join(root, 'f32'),
  );
  const u8Dir = path.join(root, 'u8');
  quantizeFolder(f32, u8Dir, 'uint8');
  const cal = writeCalibration(path.join(root, 'data'), 32, 32, 10);
  const r = await runPrune({
    ...DEFAULT_OPTIONS,
    modelPath: path.join(u8Dir, 'model.json'),
    dataPath: cal.x,
    labelsPath: cal.y,
    evalPath: cal.x,
    evalLabelsPath: cal.y,
    outDir: path.join(root, 'out'),
    sparsity: 0.7,
    samples: 32,
  });
  const { input, output } = checkSizes(r, u8Dir);
  const specs = output.json.weightsManifest[0].weights;
  assert.ok(
    specs.length > 50 && specs.every((s: any) => s.quantization?.dtype === 'uint8'),
    'every weight, BatchNorm statistics included, stays uint8',
  );
  assert.ok(output.raw <= input.raw && output.gzip <= input.gzip, `raw ${input.raw} → ${output.raw}, gzip ${input.gzip} → ${output.gzip}`);
  const kernels = r.layers.map(l => `${l.name}/${l.kind === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel'}`);
  assert.ok(
    (await zerosWritten(path.join(r.output, 'model.json'), kernels)) >= r.sparsity.pruned,
    'every pruned weight decodes to exactly 0',
  );
  const back = await loadModel(path.join(r.output, 'model.json'));
  const ev = await evaluate(back, await loadDataset(back, cal.x, cal.y));
  back.model.dispose();
  assert.equal(ev.accuracy, r.after!.accuracy);
  assert.ok(Math.abs(ev.loss - r.after!.loss) <= 1e-5 * Math.max(1, Math.abs(ev.loss)), `loss ${ev.loss} vs reported ${r.after!.loss}`);
});
