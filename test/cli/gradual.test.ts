// `woodfisher gradual` as a user runs it: the real CLI on the bundled MLPNet and digits (short settings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { cli, ex, LABELED_EVAL, root, tempDir } from './runCli';

const tmp = tempDir('wf-cli-gradual-');

test('gradual prints progress per epoch and step with ETA (not a TTY), the tables, and writes the model', () => {
  const out = path.join(tmp, 'g');
  const r = cli(
    'gradual',
    ex('mlpnet/model.json'),
    '--train',
    ex('data/calib-x.npy'),
    '--train-labels',
    ex('data/calib-y.npy'),
    '--sparsity',
    '0.8',
    '--epochs',
    '2',
    '--prune-end',
    '1',
    '--prune-every',
    '0.5',
    '--method',
    'global-magnitude',
    '--batch-size',
    '100',
    '--lr',
    '0.05',
    ...LABELED_EVAL,
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^schedule: 0\.0% at epoch 0, 70\.0% at epoch 0\.5, 80\.0% at epoch 1; 2 epochs of 10 batches$/m);
  assert.match(
    r.stderr,
    /^epoch 1\/2: train loss \d\.\d{4} acc [\d.]+% · eval loss \d\.\d{4} acc [\d.]+% · sparsity 70\.00% · lr [\d.e-]+ · [\d.]+ s \([\d.]+ epochs\/min, ETA [\d.]+ s\)$/m,
  );
  assert.match(r.stderr, /^checkpoint after epoch 1 in /m);
  assert.match(r.stderr, /^pruning step 1\/3 \(epoch 0\): target 0\.00% already met \(0\.00% pruned\), nothing to do$/m);
  assert.match(r.stderr, /^epoch 2\/2: .* sparsity 80\.00% .*ETA now\)$/m);
  assert.match(r.stdout, /^pruning step 3\/3 at epoch 1: target 80\.00%, pruned 80\.00%/m);
  assert.match(r.stdout, /^final model\nlayer\s+kind/m);
  assert.match(r.stdout, /^total\s+32,360\s+25,888\s+80\.0%/m);
  assert.match(r.stdout, /global-magnitude gradual \(global\): pruned 80\.00% of 32,360 weights .* in 2 epochs, 3 pruning steps/);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(report.gradual.epochs.length, 2);
  assert.equal(report.gradual.finished, true);
  assert.ok(!existsSync(path.join(out, 'checkpoint.json')));
});

test('gradual takes the layer caps of a pruning step (--max-layer-sparsity, --layer-cap), as its cap warning says', () => {
  const out = path.join(tmp, 'caps');
  const r = cli(
    'gradual',
    ex('mlpnet/model.json'),
    '--train',
    ex('data/calib-x.npy'),
    '--train-labels',
    ex('data/calib-y.npy'),
    '--sparsity',
    '0.9',
    '--epochs',
    '1',
    '--prune-end',
    '0.5',
    '--prune-every',
    '0.5',
    '--method',
    'global-magnitude',
    '--batch-size',
    '100',
    '--max-layer-sparsity',
    '0.91',
    '--layer-cap',
    'fc3=0.3',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /layer fc3 held at its cap of 30\.0% pruned.*--layer-cap fc3=1/);
  assert.match(r.stdout, /gradual \(global\): pruned .* in 1 epoch, 2 pruning steps, /);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(report.settings.maxLayerSparsity, 0.91);
  assert.deepEqual(report.settings.layers, { fc3: { maxSparsity: 0.3 } });
  const sparsity = Object.fromEntries(report.layers.map((l: { name: string; sparsity: number }) => [l.name, l.sparsity]));
  assert.equal(sparsity.fc3, 0.3);
  assert.equal(sparsity.fc1, Math.round(0.91 * 31360) / 31360); // held at the run's cap
  assert.match(r.stderr, /layer fc1 held at its cap of 91\.0% pruned/);
});

test('gradual: missing or contradictory flags give one line and exit 2, before any work', () => {
  const cases: [string[], RegExp][] = [
    [['--train', ex('data/train.npz'), '--sparsity', '0.9', '--out', path.join(tmp, 'x')], /no epochs: give --epochs/],
    [['--sparsity', '0.9', '--epochs', '2', '--out', path.join(tmp, 'x')], /no training data: give --train/],
    [['--train', ex('data/train.npz'), '--epochs', '2', '--out', path.join(tmp, 'x')], /no target sparsity/],
    [
      ['--train', ex('data/train.npz'), '--sparsity', '0.9', '--epochs', '2', '--prune-end', '2', '--out', path.join(tmp, 'x')],
      /prune-end \(2\) must come before the last epoch ends/,
    ],
    [
      ['--train', ex('data/train.npz'), '--sparsity', '0.9', '--epochs', '2', '--out', path.join(tmp, 'x'), '--resume'],
      /nothing to resume/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = cli('gradual', ex('mlpnet/model.json'), ...args);
    assert.ok(r.code === 2 || r.code === 1, `${args.join(' ')}: exit ${r.code}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(path.join(tmp, 'x')));
  }
});

test('sweep --gradual: every point a gradual run with the same epochs, compared on one chart', () => {
  const out = path.join(tmp, 'sweep');
  const r = cli(
    'sweep',
    ex('mlpnet/model.json'),
    '--gradual',
    '--train',
    ex('data/calib-x.npy'),
    '--train-labels',
    ex('data/calib-y.npy'),
    '--epochs',
    '2',
    '--prune-end',
    '1',
    '--batch-size',
    '100',
    '--lr',
    '0.05',
    '--sparsities',
    '0.7,0.8',
    '--methods',
    'global-magnitude,magnitude',
    ...LABELED_EVAL,
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /run 1\/4: gradual global-magnitude at 70%/);
  const sweep = JSON.parse(readFileSync(path.join(out, 'sweep.json'), 'utf8'));
  assert.deepEqual(sweep.gradual, { epochs: 2 });
  assert.equal(sweep.points.length, 4);
  for (const p of sweep.points) {
    const report = JSON.parse(readFileSync(path.join(p.output, 'report.json'), 'utf8'));
    assert.equal(report.gradual.epochs.length, 2);
    assert.ok(Math.abs(report.sparsity.achieved - p.sparsity) < 1e-3);
    assert.ok(!existsSync(path.join(p.output, 'checkpoint.json')), 'no checkpoints inside a sweep');
  }
  assert.match(readFileSync(path.join(out, 'sweep.svg'), 'utf8'), /gradual, 2 epochs/);
  const plain = cli('sweep', ex('mlpnet/model.json'), '--epochs', '2', '--sparsities', '0.5', '--out', path.join(tmp, 'x2'));
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /add --gradual/);
});

test('prune and a one-shot sweep refuse a recipe with a gradual: section in one line, pointing to gradual; nothing written', () => {
  const recipe = path.join(tmp, 'gradual-recipe.yaml');
  writeFileSync(
    recipe,
    [
      `model: ${ex('mlpnet/model.json')}`,
      `data: ${ex('data/train.npz')}`,
      'sparsity: 0.9',
      `output: ${path.join(tmp, 'r-out')}`,
      `eval: { inputs: ${ex('data/test-x.npy')}, labels: ${ex('data/test-y.npy')} }`,
      'gradual:',
      '  epochs: 2',
      '',
    ].join('\n'),
  );
  const prune = cli('prune', recipe);
  assert.equal(prune.code, 2, prune.stderr);
  assert.equal(prune.stderr.trim().split('\n').length, 1, prune.stderr);
  assert.match(
    prune.stderr,
    /gradual-recipe\.yaml has a gradual: section, and prune is one-shot: run it with `woodfisher gradual .*gradual-recipe\.yaml`/,
  );
  const sweep = cli('sweep', recipe, '--sparsities', '0.5', '--out', path.join(tmp, 'r-sweep'));
  assert.equal(sweep.code, 2, sweep.stderr);
  assert.match(sweep.stderr, /and sweep is one-shot: add --gradual/);
  assert.ok(!existsSync(path.join(tmp, 'r-out')) && !existsSync(path.join(tmp, 'r-sweep')));
});

test('SIGTERM during a pruning step exits 143, keeps the last checkpoint and says so; --resume finishes the run', async () => {
  const out = path.join(tmp, 'term');
  const args = ['gradual', ex('mlpnet/model.json'), '--train', ex('data/calib-x.npy'), '--train-labels', ex('data/calib-y.npy')];
  const settings = ['--sparsity', '0.9', '--epochs', '8', '--samples', '1000', '--out', out];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, ...settings], { cwd: root });
  let stderr = '';
  let sent = false;
  child.stderr.on('data', d => {
    stderr += d;
    // plain-line progress (not a TTY): stop inside the second pruning step, after the first epoch's checkpoint
    if (!sent && /^blocks \(step 2\/\d+\)/m.test(stderr)) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)));
  assert.ok(sent, `never saw the second pruning step: ${stderr}`);
  assert.equal(code, 143, stderr); // 128 + SIGTERM, as a shell reports it (Ctrl-C stays 130: test/cli/e2e.test.ts)
  const last = stderr.trim().split('\n').pop()!;
  assert.match(last, /^gradual pruning was cancelled; the checkpoint after epoch (\d+) is in .+ \(continue with --resume\)$/);
  const epoch = Number(/epoch (\d+)/.exec(last)![1]);
  assert.equal(JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8')).epoch, epoch);
  const resumed = cli(...args, ...settings, '--resume');
  assert.equal(resumed.code, 0, resumed.stderr);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(report.gradual.epochs.length, 8);
  assert.ok(Math.abs(report.sparsity.achieved - 0.9) < 1e-3, `achieved ${report.sparsity.achieved}`);
});
