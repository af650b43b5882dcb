// The npm package as a user gets it: `npm pack` → install the tarball → run `woodfisher`. Two installs, both from the
// tarball: globally under a /tmp prefix with the optional native packages (the products must run on onnxruntime-node
// where it ships a binary), and into an empty project without them (the CLI must still work and say, once, why the
// Fisher products are slow). Uses dist/ as `npm test` built it (packing does not rebuild: other tests read dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
// Where onnxruntime-node ships a CPU binary (src/engine/linalg/accel/platforms.json), the installed CLI must run its products on it.
const NATIVE =
  (
    JSON.parse(fs.readFileSync(path.join(root, 'src', 'engine', 'linalg', 'accel', 'platforms.json'), 'utf8'))[
      `${process.platform}-${process.arch}`
    ] ?? []
  ).length > 0;

// Where openblas-platforms.json lists this platform, the tarball packed here carries the OpenBLAS addon, which wins.
const OPENBLAS = (
  JSON.parse(fs.readFileSync(path.join(root, 'src', 'engine', 'linalg', 'accel', 'openblas-platforms.json'), 'utf8')) as string[]
).includes(`${process.platform}-${process.arch}`);

// Everything the tarball may hold: the CLI bundles and what they load at run time, the demo's example, the schema, docs.
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^ThirdPartyNotices\.txt$/,
  /^bin\/woodfisher\.js$/,
  /^dist\/(cli|blockWorker|ortThread)\.js$/,
  /^dist\/wasm\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/,
  /^dist\/native\/woodfisher-linalg-[a-z0-9]+-[a-z0-9]+\.node$/,
  /^schemas\/recipe\.schema\.json$/,
  /^examples\/mlpnet\/(model\.json|weights\.bin|woodfisher\.yaml)$/,
  /^examples\/data\/(calib|test)-[xy]\.npy$/,
  /^examples\/data\/train\.npz$/, // train.npz: the demo's gradual run
];
const REQUIRED = [
  'bin/woodfisher.js',
  'dist/cli.js',
  'dist/blockWorker.js',
  'dist/ortThread.js',
  'examples/mlpnet/model.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'ThirdPartyNotices.txt',
];

const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'woodfisher-pack-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let tarball = '';

test('npm pack: only the allow-listed files, and everything the CLI needs', () => {
  if (!fs.existsSync(path.join(root, 'dist', 'cli.js'))) execFileSync(process.execPath, ['esbuild.mjs'], { cwd: root });
  const [info] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root));
  tarball = path.join(tmp, info.filename);
  const files: string[] = info.files.map((f: { path: string }) => f.path);
  assert.deepEqual(
    files.filter(f => !ALLOWED.some(re => re.test(f))),
    [],
    'files outside the allow-list',
  );
  for (const f of REQUIRED) assert.ok(files.includes(f), `${f} missing from the tarball`);
  if (OPENBLAS) {
    const addon = `dist/native/woodfisher-linalg-${process.platform}-${process.arch}.node`;
    assert.ok(files.includes(addon), `${addon} missing from the tarball packed on this platform`);
  }
});

test('global install under a prefix: --version, and prune runs its products natively (OpenBLAS, else onnxruntime-node)', () => {
  const prefix = path.join(tmp, 'global');
  // The README's install line: onnxruntime-node's install script would fetch CUDA libraries on linux-x64.
  npm(['install', '-g', '--prefix', prefix, '--prefer-offline', tarball], tmp, { ONNXRUNTIME_NODE_INSTALL: 'skip' });
  const bin = process.platform === 'win32' ? path.join(prefix, 'woodfisher.cmd') : path.join(prefix, 'bin', 'woodfisher');
  assert.equal(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(), pkg.version);

  const installed = path.join(prefix, 'lib', 'node_modules', 'woodfisher', 'examples');
  const out = path.join(tmp, 'pruned');
  const r = spawnSync(bin, ['prune', path.join(installed, 'mlpnet', 'woodfisher.yaml'), '--samples', '64', '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  if (NATIVE || OPENBLAS) {
    const expected = OPENBLAS ? 'openblas-f64' : 'onnxruntime-f64';
    assert.equal(report.linalg, expected, `native products did not load from the installed package: ${report.linalgNote}`);
    assert.doesNotMatch(r.stderr, /plain JavaScript/);
  }
  assert.ok(report.sparsity.achieved > 0.85, `sparsity ${report.sparsity.achieved}`);
});

test('install into an empty project without optional packages or the OpenBLAS addon: npx woodfisher works and says once why it is slow', () => {
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  npm(['install', '--omit=optional', '--prefer-offline', tarball], app);
  assert.ok(!fs.existsSync(path.join(app, 'node_modules', 'onnxruntime-node')));
  // what a platform without the OpenBLAS addon gets (this platform's addon ships in the tarball itself)
  fs.rmSync(path.join(app, 'node_modules', 'woodfisher', 'dist', 'native'), { recursive: true, force: true });
  assert.equal(execFileSync('npx', ['--no-install', 'woodfisher', '--version'], { cwd: app, encoding: 'utf8' }).trim(), pkg.version);
  const r = spawnSync('npx', ['--no-install', 'woodfisher', 'demo', '--samples', '32', '--no-gradual', '--out', path.join(tmp, 'demo')], {
    cwd: app,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  for (const run of ['woodfisher-90', 'global-magnitude-90', 'woodfisher-95', 'global-magnitude-95']) {
    assert.ok(fs.existsSync(path.join(tmp, 'demo', run, 'model.json')), `demo wrote no ${run}/model.json`);
  }
  const notices = (r.stdout + r.stderr).match(/the Fisher products run in plain JavaScript[^\n]*Fix: /g) ?? [];
  assert.equal(notices.length, 1, 'one notice for the four runs of the demo');
  const report = JSON.parse(fs.readFileSync(path.join(tmp, 'demo', 'woodfisher-90', 'report.json'), 'utf8'));
  assert.equal(report.linalg, 'js');
  assert.match(report.linalgNote, /onnxruntime-node not loadable/);
});
