// End-to-end: the real CLI on the bundled MLPNet example, at low sample counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { cli, cliWith, ex, LABELED_EVAL, root, tempDir } from './runCli';

const haveExamples = existsSync(ex('mlpnet/model.json')) && existsSync(ex('data/calib-x.npy'));
const tmp = tempDir('wf-cli-e2e-');

test('prune --json on MLPNet writes the model, shards and a report with per-layer entries', { skip: !haveExamples }, () => {
  const out = path.join(tmp, 'p90');
  const r = cli(
    'prune',
    ex('mlpnet/model.json'),
    '--data',
    ex('data/calib-x.npy'),
    '--labels',
    ex('data/calib-y.npy'),
    ...LABELED_EVAL,
    '--sparsity',
    '0.9',
    '--samples',
    '64',
    '--out',
    out,
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', '--json is quiet');
  const printed = JSON.parse(r.stdout);
  const files = readdirSync(out);
  assert.ok(files.includes('model.json') && files.includes('report.json'));
  assert.ok(
    files.some(f => f.endsWith('.bin')),
    'weight shards',
  );
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.deepEqual(
    report.layers.map((l: { name: string }) => l.name),
    ['fc1', 'fc2', 'fc3'],
  );
  assert.ok(Math.abs(report.sparsity.achieved - 0.9) < 1e-3, `achieved ${report.sparsity.achieved}`);
  assert.equal(report.settings.samples, 64);
  assert.equal(report.settings.method, 'woodfisher');
  assert.equal(printed.sparsity.pruned, report.sparsity.pruned);
  assert.ok(report.after.accuracy > 0.1 && report.after.accuracy <= 1);
});

test('prune from the example recipe with flag overrides prints the layer table', { skip: !haveExamples }, () => {
  const out = path.join(tmp, 'recipe-mag');
  const r = cli('prune', ex('mlpnet/woodfisher.yaml'), '--method', 'global-magnitude', '--sparsity', '0.8', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^layer\s+kind\s+weights/);
  assert.match(r.stdout, /^fc1\s+Dense\s+31,360/m);
  assert.match(r.stdout, /^total\s+32,360\s+25,888\s+80\.0%/m);
  assert.match(r.stdout, /global-magnitude \(global\): pruned 80\.00%/, 'a magnitude run has no OBS update to name');
  assert.match(r.stdout, /accuracy \d+\.\d\d% → \d+\.\d\d%/);
  assert.equal(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')).settings.method, 'global-magnitude');
});

test('an unknown layer in a recipe is reported at its line, with a suggestion', { skip: !haveExamples }, () => {
  const recipe = path.join(tmp, 'layers.prune.yaml');
  writeFileSync(
    recipe,
    `model: ${ex('mlpnet/model.json')}\nsparsity: 0.5\nmethod: magnitude\nlayers:\n  fc_2: { exclude: true }\noutput: ./o\n`,
  );
  const r = cli('prune', recipe);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    `error: ${recipe}:5:3: the model has no prunable layer "fc_2" (did you mean "fc2"?); prunable layers: fc1, fc2, fc3`,
  );
  assert.ok(!existsSync(path.join(tmp, 'o')));
});

test('a missing model is one error line with exit code 1', () => {
  const r = cli('prune', path.join(tmp, 'nope', 'model.json'), '--method', 'magnitude', '--sparsity', '0.5', '--out', path.join(tmp, 'x'));
  assert.equal(r.code, 1);
  // progress lines may come first (stderr is not a TTY); then exactly one error line, no stack trace
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter(l => l.startsWith('error'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: .*nope/);
  assert.match(r.stderr.trim().split('\n').pop()!, /^error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a WOODFISHER_LINALG that names no provider: one error line before any work, nothing written', { skip: !haveExamples }, () => {
  const out = path.join(tmp, 'linalg');
  const r = cliWith({ env: { ...process.env, WOODFISHER_LINALG: 'mkl' } })('prune', ex('mlpnet/woodfisher.yaml'), '--out', out);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), "error: WOODFISHER_LINALG must be one of openblas-f64, onnxruntime-f64, js (got 'mkl')");
  assert.equal(r.stdout, '');
  assert.ok(!existsSync(out));
});

test('sweep writes sweep.json, sweep.svg and one folder per run', { skip: !haveExamples }, () => {
  const out = path.join(tmp, 'sweep');
  const r = cli(
    'sweep',
    ex('mlpnet/model.json'),
    ...LABELED_EVAL,
    '--sparsities',
    '0.9,0.5',
    '--methods',
    'magnitude,global-magnitude',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), [
    '.woodfisher-output.json',
    'global-magnitude-50',
    'global-magnitude-90',
    'magnitude-50',
    'magnitude-90',
    'sweep-size.svg',
    'sweep.json',
    'sweep.svg',
  ]);
  const sweep = JSON.parse(readFileSync(path.join(out, 'sweep.json'), 'utf8'));
  assert.deepEqual(sweep.sparsities, [0.5, 0.9]);
  assert.equal(sweep.points.length, 4);
  assert.match(readFileSync(path.join(out, 'sweep.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  // the second chart: accuracy against gzip size, one point per run at its size on disk, the dense input as a marker
  assert.ok(sweep.points.every((p: any) => p.size.gzip > 0 && p.size.raw > 0) && sweep.inputSize.gzip > 0);
  const sizeChart = readFileSync(path.join(out, 'sweep-size.svg'), 'utf8');
  assert.equal(sizeChart.match(/<circle /g)?.length, 4);
  assert.match(sizeChart, /class="dense"/);
  assert.match(r.stdout, /^magnitude\s+50\.0%/m);
  // without eval data a sweep is a usage error
  const bad = cli('sweep', ex('mlpnet/model.json'), '--sparsities', '0.5', '--methods', 'magnitude', '--out', path.join(tmp, 'sweep2'));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: a sweep needs evaluation data/);
});

test('Ctrl-C cancels: exit code 130 and no output folder', { skip: !haveExamples }, async () => {
  const out = path.join(tmp, 'cancelled');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'prune', ex('mlpnet/woodfisher.yaml'), '--samples', '1000', '--out', out],
    { cwd: root },
  );
  let stderr = '';
  let sent = false;
  child.stderr.on('data', d => {
    stderr += d;
    // plain-line progress (not a TTY): interrupt once gradient collection has started
    if (!sent && /^gradients/m.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)));
  assert.ok(sent, `never saw the gradients stage: ${stderr}`);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /^cancelled$/m);
  assert.ok(!existsSync(out), 'no partial output');
});

test(
  'a second signal leaves at once, as killed by it: no native abort, no staging folder or lock left',
  { skip: !haveExamples },
  async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const out = path.join(tmp, `twice-${signal}`);
      const child = spawn(
        process.execPath,
        // blocks of 2000: one block's products take long enough for the second signal to arrive inside them
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'prune',
          ex('mlpnet/woodfisher.yaml'),
          '--samples',
          '1000',
          '--block-size',
          '2000',
          '--out',
          out,
        ],
        { cwd: root },
      );
      let stderr = '';
      let sent = false;
      child.stderr.on('data', d => {
        stderr += d;
        if (!sent && /^blocks/m.test(stderr)) {
          sent = true;
          child.kill(signal);
          setTimeout(() => child.kill(signal), 30); // apart: two signals that arrive together are handled as one
        }
      });
      const [code, killedBy] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve =>
        child.on('close', (c, s) => resolve([c, s])),
      );
      assert.ok(sent, `never saw the gradients stage: ${stderr}`);
      // ended by the signal itself (a shell reports 128 + n), or by the first one's cancel if it came first
      assert.ok(
        killedBy === signal || code === (signal === 'SIGINT' ? 130 : 143),
        `${signal}: code ${code}, signal ${killedBy}: ${stderr}`,
      );
      assert.doesNotMatch(stderr, /terminate called|Napi::Error|\n\s+at /);
      assert.deepEqual(
        readdirSync(tmp).filter(f => f.includes(`twice-${signal}`)),
        [],
        'no output, staging folder or lock beside it',
      );
    }
  },
);

test(
  'prune --structure neurons --target-flops on the CNN recipe: units column, FLOPs and latency lines, a smaller model',
  { skip: !haveExamples },
  () => {
    const out = path.join(tmp, 'struct-flops');
    const r = cli('prune', ex('cnn/woodfisher.yaml'), '--structure', 'neurons', '--target-flops', '0.5', '--samples', '64', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^layer\s+kind\s+units\s+weights/);
    assert.match(r.stdout, /^conv1\s+Conv2D\s+\d\/8/m);
    assert.match(r.stdout, /structure neurons, FLOPs target 50\.0%/);
    assert.match(r.stdout, /^params 13,610 → [\d,]+, FLOPs 124,384 → [\d,]+ \(\d+\.\d%\)$/m);
    assert.match(r.stdout, /^latency on \w+ \(median\): batch 1 [\d.]+ ms → [\d.]+ ms, batch 32 [\d.]+ ms → [\d.]+ ms$/m);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.ok(report.structure.after.flops <= 0.5 * report.structure.before.flops);
    const model = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
    const conv = model.modelTopology.config.layers.find((l: any) => l.config.name === 'conv1');
    assert.equal(conv.config.filters, report.layers[0].units.kept);
    assert.ok(conv.config.filters < 8);
  },
);

test('--target-flops out of range is one clear line', () => {
  const r = cli('prune', ex('cnn/woodfisher.yaml'), '--structure', 'neurons', '--target-flops', '1.5', '--out', path.join(tmp, 'bad'));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /target-flops.*fraction in \(0, 1\]/);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
});

test('structure first, then sparsity: unstructured pruning of a structurally pruned model', { skip: !haveExamples }, () => {
  const small = path.join(tmp, 'chain-struct'),
    sparse = path.join(tmp, 'chain-sparse');
  const data = ['--data', ex('data/calib-x.npy'), '--labels', ex('data/calib-y.npy'), '--samples', '64', '--json'];
  const a = cli('prune', ex('mlpnet/model.json'), ...data, '--structure', 'neurons', '--sparsity', '0.25', '--out', small);
  assert.equal(a.code, 0, a.stderr);
  const b = cli('prune', path.join(small, 'model.json'), ...data, '--sparsity', '0.8', '--out', sparse);
  assert.equal(b.code, 0, b.stderr);
  const report = JSON.parse(readFileSync(path.join(sparse, 'report.json'), 'utf8'));
  assert.deepEqual(
    report.layers.map((l: { weights: number }) => l.weights),
    [784 * 30, 30 * 15, 15 * 10],
  );
  assert.ok(Math.abs(report.sparsity.achieved - 0.8) < 1e-3);
});

test('sweep --structure neurons: each point is a physically smaller model with its own structured report', { skip: !haveExamples }, () => {
  const out = path.join(tmp, 'struct-sweep');
  const r = cli(
    'sweep',
    ex('cnn/model.json'),
    '--structure',
    'neurons',
    '--sparsities',
    '0.25,0.5',
    '--methods',
    'magnitude',
    ...LABELED_EVAL,
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  const kept = ['magnitude-25', 'magnitude-50'].map(d => {
    const rep = JSON.parse(readFileSync(path.join(out, d, 'report.json'), 'utf8'));
    assert.ok(rep.structure, `${d}: a structured report`);
    return rep.layers[0].units.kept;
  });
  assert.deepEqual(kept, [6, 4], 'conv1 keeps 6 and 4 of its 8 filters');
});

test(
  'structure first, then the encoding: --structure neurons --quantize uint8 writes a smaller uint8 model that TF.js reads',
  { skip: !haveExamples },
  () => {
    const out = path.join(tmp, 'struct-uint8');
    const r = cli(
      'prune',
      ex('cnn/model.json'),
      '--structure',
      'neurons',
      '--sparsity',
      '0.5',
      '--method',
      'magnitude',
      '--quantize',
      'uint8',
      ...LABELED_EVAL,
      '--out',
      out,
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    const model = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
    const specs = model.weightsManifest.flatMap(
      (g: { weights: { name: string; shape: number[]; quantization?: { dtype: string } }[] }) => g.weights,
    );
    const kernel = specs.find((w: { name: string }) => w.name === 'conv1/kernel');
    assert.deepEqual(kernel.shape, [3, 3, 1, 4], 'conv1 keeps 4 filters');
    assert.equal(kernel.quantization?.dtype, 'uint8');
    assert.ok(report.size.output.gzip < report.size.input.gzip / 2, `gzip ${report.size.input.gzip} → ${report.size.output.gzip}`);
    assert.ok(report.after.accuracy > 0.5, `accuracy after ${report.after.accuracy}`);
  },
);

test(
  'unlabeled --eval: the summary calls the numbers agreement with the dense model and KL, not accuracy and loss',
  { skip: !haveExamples },
  () => {
    const out = path.join(tmp, 'unlabeled-eval');
    const r = cli(
      'prune',
      ex('mlpnet/model.json'),
      '--method',
      'magnitude',
      '--sparsity',
      '0.5',
      '--eval',
      ex('data/test-x.npy'),
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find(l => l.startsWith('agreement '));
    assert.ok(line, `no agreement line in:\n${r.stdout}`);
    assert.match(line, /^agreement 100\.00% → \d+\.\d\d%, KL 0\.0000 → \d\.\d{4} \(2000 samples; no labels: against the dense model\)$/);
    assert.ok(!/^accuracy /m.test(r.stdout), 'no line calls it accuracy');
    const rep = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.equal(rep.after.reference, 'dense');
  },
);
