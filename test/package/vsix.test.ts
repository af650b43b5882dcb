// Every VSIX scripts/package.sh builds (universal + one per platform of src/engine/linalg/accel/platforms.json), listed against an allow-list: the bundles and
// what they read at run time, the Marketplace files, the walkthrough's example — and for a platform VSIX exactly the
// two native files its CPU products load. Uses the VSIXs `npm test` built (WOODFISHER_VSIX_DIR), else builds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const COMMON = [
  /^\[Content_Types\]\.xml$/,
  /^extension\.vsixmanifest$/,
  /^extension\/(package\.json|readme\.md|changelog\.md|LICENSE\.txt|ThirdPartyNotices\.txt)$/,
  /^extension\/images\/icon\.png$/,
  /^extension\/docs\/images\/(panel-dark|sweep)\.png$/,
  /^extension\/media\/walkthrough\/[a-z]+\.md$/,
  /^extension\/schemas\/recipe\.schema\.json$/,
  /^extension\/dist\/(extension|worker|blockWorker|ortThread)\.js$/,
  /^extension\/dist\/wasm\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/,
  /^extension\/dist\/webview\/(main\.js|style\.css|index\.html)$/,
  /^extension\/examples\/mlpnet\/(model\.json|weights\.bin|woodfisher\.yaml)$/,
  /^extension\/examples\/data\/(calib|test)-[xy]\.npy$/,
];
// onnxruntime-node's public JS (CommonJS only, no maps or typings) …
const ORT_JS = [
  /^extension\/dist\/node_modules\/onnxruntime-node\/(package\.json|dist\/[a-z]+\.js)$/,
  /^extension\/dist\/node_modules\/onnxruntime-common\/(package\.json|dist\/cjs\/([a-z-]+\.js|package\.json))$/,
];
// … and per platform the binding plus the one library it links (none for darwin-x64: onnxruntime-node has had no
// Intel-macOS binary since 1.24, so that VSIX runs the products in plain JS and the panel says so).
const NATIVE: Record<string, string[]> = JSON.parse(
  fs.readFileSync(path.join(root, 'src', 'engine', 'linalg', 'accel', 'platforms.json'), 'utf8'),
);
// … and where openblas-platforms.json lists it, this package's OpenBLAS addon.
const OPENBLAS: string[] = JSON.parse(
  fs.readFileSync(path.join(root, 'src', 'engine', 'linalg', 'accel', 'openblas-platforms.json'), 'utf8'),
);
const REQUIRED = [
  'extension/dist/webview/index.html',
  'extension/dist/extension.js',
  'extension/dist/worker.js',
  'extension/dist/blockWorker.js',
  'extension/dist/ortThread.js',
  'extension/images/icon.png',
  'extension/changelog.md',
  'extension/ThirdPartyNotices.txt',
  'extension/readme.md',
  'extension/examples/mlpnet/model.json',
];

let dir = process.env.WOODFISHER_VSIX_DIR ?? '';
if (!dir || !fs.existsSync(path.join(dir, 'woodfisher-linux-x64.vsix'))) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'woodfisher-vsix-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('bash', ['scripts/package.sh', '--all', dir], { cwd: root, stdio: 'ignore' });
}
const list = (vsix: string) => execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).split('\n').filter(Boolean);

for (const target of [undefined, ...Object.keys(NATIVE)]) {
  test(`VSIX ${target ?? 'universal'}: allow-listed files only, the bundles, and its native products`, () => {
    const vsix = path.join(dir, target ? `woodfisher-${target}.vsix` : 'woodfisher.vsix');
    const files = list(vsix);
    const natives = [
      ...(target ? NATIVE[target] : []).map(
        f => `extension/dist/node_modules/onnxruntime-node/bin/napi-v6/${target!.replace('-', '/')}/${f}`,
      ),
      ...(target && OPENBLAS.includes(target) ? [`extension/dist/native/woodfisher-linalg-${target}.node`] : []),
    ];
    const allowed = [...COMMON, ...(target && NATIVE[target].length ? ORT_JS : [])];
    assert.deepEqual(
      files.filter(f => !natives.includes(f) && !allowed.some(re => re.test(f))),
      [],
      'files outside the allow-list',
    );
    for (const f of [...REQUIRED, ...natives]) assert.ok(files.includes(f), `${f} missing`);
    if (target && NATIVE[target].length)
      assert.ok(files.includes('extension/dist/node_modules/onnxruntime-common/dist/cjs/index.js'), 'onnxruntime-common missing');
    const manifest = execFileSync('unzip', ['-p', vsix, 'extension.vsixmanifest'], { encoding: 'utf8' });
    if (target) assert.match(manifest, new RegExp(`TargetPlatform="${target}"`));
    assert.match(manifest, new RegExp(`Version="${pkg.version.replace(/\./g, '\\.')}"`));
    const shipped = JSON.parse(execFileSync('unzip', ['-p', vsix, 'extension/package.json'], { encoding: 'utf8' }));
    assert.deepEqual(shipped.extensionKind, ['workspace']);
    assert.equal(shipped.preview, true);
    // Palette entries only where they apply; every command in a category; damp editable in the Settings UI.
    const palette = Object.fromEntries(
      shipped.contributes.menus.commandPalette.map((m: { command: string; when: string }) => [m.command, m.when]),
    );
    assert.deepEqual(palette, {
      'woodfisher.cancel': 'woodfisher.running',
      'woodfisher.openReport': 'woodfisher.hasResults',
      'woodfisher.openPrunedModel': 'woodfisher.hasResults',
    });
    for (const c of shipped.contributes.commands) assert.equal(c.category, 'WoodFisher', `${c.command} has no category`);
    assert.equal(shipped.contributes.configuration.properties['woodfisher.damp'].type, 'string');
    assert.equal(shipped.contributes.yamlValidation, undefined, 'YAML recipes are validated by the extension itself (once)');
  });
}

test('the block worker bundle does not carry TF.js (providers load lazily)', () => {
  const src = fs.readFileSync(path.join(root, 'dist', 'blockWorker.js'), 'utf8');
  assert.ok(src.length < 100_000, `dist/blockWorker.js is ${src.length} bytes`);
  assert.doesNotMatch(src, /tfjs-core|registerKernel|@tensorflow/);
});

// The Marketplace and VS Code's Extensions view render the VSIX's readme, whose relative links vsce rewrote to the
// repository in package.json: `raw/HEAD/…` for images (they render), `blob/HEAD/…` for other files. They resolve once
// that repository is public and holds these files at HEAD (docs/packaging.md: set `repository` before publishing).
test("the VSIX readme: every link points into package.json's repository at a file this checkout has; images as raw", () => {
  const readme = execFileSync('unzip', ['-p', path.join(dir, 'woodfisher.vsix'), 'extension/readme.md'], { encoding: 'utf8' });
  const repo = pkg.repository.url.replace(/\.git$/, '');
  const links = [...readme.matchAll(/(!?)\[[^\]]*\]\(([^)\s]+)\)/g)].map(m => ({ image: m[1] === '!', url: m[2] }));
  assert.ok(
    links.some(l => l.image),
    'the readme shows no screenshot',
  );
  for (const { image, url } of links) {
    if (url.startsWith('#') || url.startsWith('mailto:')) continue;
    assert.match(url, /^https:\/\//, `relative link left in the readme: ${url}`);
    if (!url.startsWith(repo)) continue; // links to other sites (papers, npm) stand on their own
    const m = url.slice(repo.length).match(/^\/(raw|blob)\/HEAD\/(.+)$/);
    assert.ok(m, `unexpected repository link ${url}`);
    assert.equal(m[1], image ? 'raw' : 'blob', `${url}: images must be raw to render, pages blob`);
    assert.ok(fs.existsSync(path.join(root, m[2])), `${url} names ${m[2]}, which this checkout does not have`);
  }
});
