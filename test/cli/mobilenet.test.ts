// End to end on real-model shapes: the CLI prunes a MobileNetV2-shaped functional model (BatchNorm, ReLU6,
// DepthwiseConv2D, residual Add, ZeroPadding2D) and an InceptionV3-like one (Concatenate, BatchNorm with scale: false,
// which TF.js' own gradient cannot take: tfjs#2868) at small input sizes, and the outputs load and predict.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '../../src/engine/backend';
import { loadModel, readKernel } from '../../src/engine/model/load';
import { buildMobileNetV2, buildInceptionLike, saveModelFolder, writeCalibration, randomImages } from '../fixtures/mobilenetv2';

import { cliWith, tempDir } from './runCli';

const tmp = tempDir('wf-cli-mnv2-');
before(async () => {
  await initBackend('wasm');
});

const cli = cliWith({ timeout: 600_000 }); // a MobileNetV2 run on wasm

async function pruneEndToEnd(name: string, model: tf.LayersModel, size: number, classes: number) {
  const src = await saveModelFolder(model, path.join(tmp, name));
  model.dispose();
  const data = writeCalibration(path.join(tmp, `${name}-data`), 24, size, classes, 3);
  const out = path.join(tmp, `${name}-out`);
  const r = cli(
    'prune',
    src,
    '--data',
    data.x,
    '--labels',
    data.y,
    '--sparsity',
    '0.6',
    '--samples',
    '24',
    '--block-size',
    '64',
    '--out',
    out,
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.ok(Math.abs(report.sparsity.achieved - 0.6) < 1e-3, `achieved ${report.sparsity.achieved}`);
  assert.ok(readdirSync(out).some(f => /^group1-shard\d+of\d+\.bin$/.test(f)));
  const before = await loadModel(src),
    pruned = await loadModel(path.join(out, 'model.json'));
  try {
    assert.deepEqual(
      report.layers.map((l: { name: string }) => l.name).sort(),
      before.prunable.map(l => l.name).sort(),
      'every prunable layer is in the report',
    );
    let zeros = 0,
      total = 0;
    for (const l of pruned.prunable) {
      const w = readKernel(pruned, l);
      total += w.length;
      for (const v of w) if (v === 0) zeros++;
    }
    assert.ok(Math.abs(zeros / total - 0.6) < 0.01, `zeros in the saved kernels: ${zeros / total}`);
    const x = tf.tensor(randomImages(4, size, 11), [4, size, size, 3]);
    const p = (pruned.model.predict(x) as tf.Tensor).dataSync();
    assert.ok(p.every(Number.isFinite));
    x.dispose();
    return { report, before, pruned };
  } finally {
    before.model.dispose();
    pruned.model.dispose();
  }
}

test('CLI prunes a MobileNetV2-shaped functional model (32×32) with WoodFisher end to end', async () => {
  const { report } = await pruneEndToEnd(
    'mnv2',
    buildMobileNetV2({ inputSize: 32, alpha: 0.35, classes: 10, stages: 4, lastChannels: 64, seed: 5 }),
    32,
    10,
  );
  const kinds = new Set(report.layers.map((l: { kind: string }) => l.kind));
  for (const k of ['Conv2D', 'DepthwiseConv2D', 'Dense']) assert.ok(kinds.has(k), k);
});

test('CLI prunes an InceptionV3-like model (BatchNormalization scale: false, Concatenate) end to end', async () => {
  await pruneEndToEnd('inception', buildInceptionLike({ inputSize: 29, classes: 6, seed: 6, width: 8 }), 29, 6);
});

test('CLI structured run under a limit only streaming meets: inspect --structure neurons shows the plan, prune streams it, same model', async () => {
  const model = buildMobileNetV2({ inputSize: 32, alpha: 0.35, classes: 10, stages: 3, lastChannels: 64, seed: 7 });
  const src = await saveModelFolder(model, path.join(tmp, 'mnv2-units'));
  model.dispose();
  const N = 2048; // N × d gradients of 111 MB: half of them is a margin well above how much the runtime, measured per process, moves
  const data = writeCalibration(path.join(tmp, 'mnv2-units-data'), N, 32, 10, 7);
  const settings = ['--samples', String(N), '--block-size', '64', '--backend', 'wasm'];
  const inspect = (...more: string[]) => {
    const r = cli('inspect', src, '--structure', 'neurons', ...settings, ...more, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).memory;
  };
  // half the gradients below the smallest in-memory plan (all blocks rebuilt: the kept ones not held): only streaming fits
  const all = inspect();
  const bytes = (prefix: string) => all.items.find((i: { what: string }) => i.what.startsWith(prefix)).bytes;
  const gradients = bytes('per-sample gradients');
  const limit = String(all.totalBytes - bytes('Fisher-inverse blocks, all kept') - Math.round(gradients / 2));
  const shown = cli('inspect', src, '--structure', 'neurons', '--max-memory', limit, ...settings);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /structure neurons: the plan covers the \d+ of \d+ prunable layers with removable units/);
  assert.match(
    shown.stdout,
    new RegExp(`per-sample gradients of one layer group at a time \\(${N} × \\d+ float32 at most, \\d+ groups\\)`),
  );
  assert.match(
    shown.stdout,
    new RegExp(
      `plan: the ${N} × \\d+ gradients \\(.*\\) do not fit under the limit \\(.*\\): they are computed for \\d+ layer groups in turn`,
    ),
  );
  assert.match(shown.stdout, /^ {2}layer group 2: /m);
  // a recipe gives the same plan: its model, samples, block size, structure and memory limit (the runtime, measured
  // in each process, may move a group boundary or whether the inverses fit beside the groups)
  const recipe = path.join(tmp, 'units.prune.yaml');
  writeFileSync(recipe, `model: ${src}\nstructure: neurons\nsamples: ${N}\nblockSize: 64\nmaxMemory: ${limit}\nbackend: wasm\n`);
  const fromRecipe = JSON.parse(cli('inspect', recipe, '--json').stdout).memory;
  const fromFlags = inspect('--max-memory', limit);
  for (const m of [fromRecipe, fromFlags]) assert.equal(`${m.gradients}, ${m.limitBytes}`, `streamed, ${limit}`);
  const prune = (out: string, ...more: string[]) =>
    cli(
      'prune',
      src,
      '--structure',
      'neurons',
      '--sparsity',
      '0.3',
      '--data',
      data.x,
      '--labels',
      data.y,
      '--damp',
      '1e-3',
      ...settings,
      '--out',
      out,
      ...more,
    );
  const [a, b] = [path.join(tmp, 'units-a'), path.join(tmp, 'units-b')];
  const inMemory = prune(a);
  assert.equal(inMemory.code, 0, inMemory.stderr);
  const streamed = prune(b, '--max-memory', limit);
  assert.equal(streamed.code, 0, streamed.stderr);
  assert.match(streamed.stdout + streamed.stderr, new RegExp(`memory plan: the ${N} × \\d+ gradients .* layer groups in turn`));
  const report = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
  assert.equal(report(a).memory.gradients, 'in memory');
  assert.equal(report(b).memory.gradients, 'streamed');
  assert.ok(report(b).memory.groups.length >= 2);
  assert.deepEqual(report(b).memory.groups.flat().sort(), fromFlags.groups.flat().sort(), 'the layers inspect planned');
  assert.deepEqual(report(b).structure.units, report(a).structure.units);
  const shards = (dir: string) =>
    readdirSync(dir)
      .filter(f => f.endsWith('.bin'))
      .map(f => readFileSync(path.join(dir, f)));
  assert.deepEqual(shards(b), shards(a), 'the written weights are byte for byte the same');
});
