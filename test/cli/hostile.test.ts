// A hostile user's inputs: each is refused with one clear line and a non-zero exit, in bounded time, and every input
// and every file beside the output keeps its bytes. Runs the bundled CLI (dist/cli.js; npm test builds it first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { formatNpy } from '../../src/engine/data/npy';

const root = path.resolve(__dirname, '../..');
const CLI = path.join(root, 'dist/cli.js');
const ex = (p: string) => path.join(root, 'examples', p);
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-hostile-')));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, WOODFISHER_DEBUG: '' },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Every file below dir with its bytes (FIFOs as a tag: reading one would block). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else out[r] = e.isFile() ? fs.readFileSync(path.join(dir, r)).toString('base64') : '<special>';
    }
  };
  walk('');
  return out;
}

function fixtures() {
  const model = path.join(tmp, 'model');
  fs.mkdirSync(model);
  for (const f of fs.readdirSync(ex('mlpnet'))) fs.copyFileSync(ex(`mlpnet/${f}`), path.join(model, f));
  const json = JSON.parse(fs.readFileSync(path.join(model, 'model.json'), 'utf8'));
  const variant = (name: string, mutate: (j: any) => void) => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    const j = structuredClone(json);
    mutate(j);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
    fs.copyFileSync(path.join(model, 'weights.bin'), path.join(dir, 'weights.bin'));
  };
  variant('no-shape', j => {
    delete j.weightsManifest[0].weights[0].shape;
  });
  variant('null-entry', j => {
    j.weightsManifest[0].weights[0] = null;
  });
  variant('huge-shape', j => {
    j.weightsManifest[0].weights[0].shape = [1e5, 1e5, 1e5];
  });
  variant('duplicate', j => {
    j.weightsManifest[0].weights[1].name = j.weightsManifest[0].weights[0].name;
  });
  fs.mkdirSync(path.join(tmp, 'a-folder'));
  execFileSync('mkfifo', [path.join(tmp, 'fifo.npy')]);
  execFileSync('mkfifo', [path.join(tmp, 'fifo.prune.yaml')]);
  const npy = formatNpy(new Float32Array(784 * 2), [2, 784]);
  const v9 = new Uint8Array(npy);
  v9[6] = 9;
  fs.writeFileSync(path.join(tmp, 'v9.npy'), v9);
  // An .npz whose member inflates to 100 MB from about 100 KB.
  const big = formatNpy(new Float32Array(31888 * 784), [31888, 784]);
  fs.writeFileSync(path.join(tmp, 'bomb.npz'), zipSync({ 'x.npy': [big, { level: 9 }] }));
  fs.writeFileSync(path.join(tmp, 'deep.prune.json'), '['.repeat(100_000) + ']'.repeat(100_000));
  fs.writeFileSync(
    path.join(tmp, 'neg-damp.prune.yaml'),
    `model: model/model.json\ndata: ${ex('data/calib-x.npy')}\nsparsity: 0.5\ndamp: -1\noutput: out-neg\n`,
  );
  fs.writeFileSync(
    path.join(tmp, 'structured-gradual.prune.yaml'),
    `model: model/model.json\nsparsity: 0.5\nstructure: neurons\noutput: out-sg\ngradual:\n  train: ${ex('data/calib-x.npy')}\n  epochs: 1\n`,
  );
  fs.writeFileSync(
    path.join(tmp, 'all-excluded.prune.yaml'),
    `model: model/model.json\nmethod: magnitude\nsparsity: 0.5\noutput: out-ex\nlayers:\n  fc1: {exclude: true}\n  fc2: {exclude: true}\n  fc3: {exclude: true}\n`,
  );
  fs.writeFileSync(
    path.join(tmp, 'y-only.npz'),
    zipSync({
      'y.npy': formatNpy(
        new BigInt64Array(1000).map((_, i) => BigInt(i % 10)),
        [1000],
      ),
    }),
  );
  // A user's folder that holds a model, and a previous output with a notebook added.
  fs.mkdirSync(path.join(tmp, 'theirs/.git'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'theirs/model.json'), '{}');
  fs.writeFileSync(path.join(tmp, 'theirs/.git/HEAD'), 'ref');
}

/** The one line for an input that is not a regular file: the path as given, and what it is. */
const special = (what: string, name: string, kind: string) =>
  new RegExp(`^error: ${what} ${escape(path.join(tmp, name))} is ${kind}, not a regular file$`);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const D = () => ['--data', ex('data/calib-x.npy'), '--labels', ex('data/calib-y.npy')];
const M = (dir = 'model') => path.join(tmp, dir, 'model.json');

test('bad inputs: one clear line each, non-zero exit, nothing changed on disk', { timeout: 600_000 }, () => {
  fixtures();
  const cases: [string[], RegExp][] = [
    [['prune', path.join(tmp, 'fifo.npy'), ...D(), '--sparsity', '0.5', '--out', 'o'], special('Model file', 'fifo.npy', 'a named pipe')],
    [
      ['prune', M(), '--data', path.join(tmp, 'fifo.npy'), '--sparsity', '0.5', '--out', 'o'],
      special('Data file', 'fifo.npy', 'a named pipe'),
    ],
    [
      ['prune', M(), ...D(), '--structure', 'neurons', '--eval', path.join(tmp, 'fifo.npy'), '--sparsity', '0.3', '--out', 'o'],
      special('Evaluation data', 'fifo.npy', 'a named pipe'),
    ],
    [
      ['gradual', M(), '--train', path.join(tmp, 'fifo.npy'), '--sparsity', '0.5', '--epochs', '1', '--out', 'o'],
      special('Data file', 'fifo.npy', 'a named pipe'),
    ],
    [
      ['gradual', path.join(tmp, 'structured-gradual.prune.yaml')],
      /^error: gradual pruning zeroes single weights; structure 'neurons' \(whole units\) is one-shot: drop it, or run woodfisher prune$/,
    ],
    [
      ['prune', M(), '--data', '/dev/zero', '--sparsity', '0.5', '--out', 'o'],
      /^error: Data file \/dev\/zero is a device, not a regular file$/,
    ],
    [['prune', M(), '--data', path.join(tmp, 'a-folder'), '--sparsity', '0.5', '--out', 'o'], special('Data file', 'a-folder', 'a folder')],
    [['prune', path.join(tmp, 'fifo.prune.yaml'), '--out', 'o'], special('Recipe', 'fifo.prune.yaml', 'a named pipe')],
    [
      ['prune', M(), '--data', path.join(tmp, 'v9.npy'), '--sparsity', '0.5', '--out', 'o'],
      /^error: v9\.npy: not a valid \.npy file \(unknown \.npy format version 9\.0/,
    ],
    [
      ['prune', M(), '--data', path.join(tmp, 'bomb.npz'), '--sparsity', '0.5', '--out', 'o', '--max-memory', '50MB'],
      /^error: bomb\.npz inflates to more than 50(\.0)? MB \(member x\.npy alone is 100 MB\)/,
    ],
    [
      ['prune', M('no-shape'), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'o'],
      /^error: model\.json: weight entry 'fc1\/kernel' has no valid shape/,
    ],
    [
      ['prune', M('null-entry'), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'o'],
      /^error: model\.json: weight entry null has no name\.$/,
    ],
    [
      ['prune', M('huge-shape'), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'o'],
      /^error: Weight shard 'weights\.bin' truncated: expected 4000000000004000 bytes/,
    ],
    [
      ['prune', M('duplicate'), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'o'],
      /^error: model\.json: weight 'fc1\/kernel' is listed twice/,
    ],
    [['prune', path.join(tmp, 'deep.prune.json')], /^error: .*deep\.prune\.json:1:1: the recipe nests over 1000 levels deep/],
    [
      ['prune', path.join(tmp, 'neg-damp.prune.yaml')],
      /^error: .*neg-damp\.prune\.yaml:4:7: damp must be a number > 0 or "auto", not number -1$/,
    ],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', '/proc/woodfisher-out'],
      /^error: cannot write beside the output folder \/proc\/woodfisher-out: files cannot be created there$/,
    ],
    [['prune', path.join(tmp, 'all-excluded.prune.yaml')], /^error: every prunable layer of model\.json is excluded; nothing to prune$/],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'o', '--max-memory', '1e400'],
      /^error: option '--max-memory <size>' argument '1e400' is invalid/,
    ],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'o', '--pattern', '5:4'],
      /^error: pattern must be N:M with 1 ≤ N < M, e\.g\. 2:4 \(got "5:4"\)$/,
    ],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', ''],
      /^error: option '--out <dir>' argument '' is invalid. a path cannot be empty/,
    ],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'theirs'],
      /^error: the output folder \/.*\/theirs exists and was not written by WoodFisher \(it holds model\.json, \.git\); choose a new folder$/,
    ],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'model'],
      /^error: the output folder \/.*\/model is the input model's folder/,
    ],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', '.'],
      /^error: the output folder \/.*wf-hostile-\w+ contains the input model's folder/,
    ],
    [
      ['prune', M(), '--method', 'magnitude', '--sparsity', '0.5', '--out', 'model/pruned'],
      /^error: the output folder \/.*\/model\/pruned is inside the input model's folder/,
    ],
    [
      [
        'sweep',
        M(),
        '--methods',
        'magnitude',
        '--sparsities',
        '0.5',
        '--eval',
        ex('data/test-x.npy'),
        '--eval-labels',
        ex('data/test-y.npy'),
        '--out',
        'theirs',
      ],
      /^error: the output folder \/.*\/theirs exists and was not written by WoodFisher/,
    ],
  ];
  const before = snapshot(tmp);
  for (const [args, expected] of cases) {
    const r = cli(...args);
    const lines = r.stderr.trimEnd().split('\n');
    const errors = lines.filter(l => l.startsWith('error:'));
    assert.notEqual(r.code, 0, `${args.join(' ')}: exit code 0`);
    assert.equal(r.signal, null, `${args.join(' ')}: killed (a hang?)`);
    assert.equal(errors.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(errors[0], expected, args.join(' '));
    assert.doesNotMatch(r.stderr, /WOODFISHER_DEBUG|\n\s+at |EISDIR|Cannot read properties|Maximum call stack/, args.join(' '));
  }
  assert.deepEqual(snapshot(tmp), before, 'every input and every user file is unchanged, and nothing was written');
});

test('a labels .npz that holds only y is valid input', { timeout: 120_000 }, () => {
  const r = cli(
    'prune',
    M(),
    '--data',
    ex('data/calib-x.npy'),
    '--labels',
    path.join(tmp, 'y-only.npz'),
    '--sparsity',
    '0.5',
    '--samples',
    '32',
    '--out',
    'y-only-out',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(tmp, 'y-only-out/model.json')));
  const report = JSON.parse(fs.readFileSync(path.join(tmp, 'y-only-out/report.json'), 'utf8'));
  assert.equal(report.settings.labels, 'given');
});
