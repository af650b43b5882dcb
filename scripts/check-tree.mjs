// Part of npm run lint: what eslint's per-file rules cannot see.
//   1. No import circles in src/ and webview/ (type-only imports count: they knot the modules just the same).
//   2. What the bundles really pull in (esbuild's metafile): the extension host no TF.js or native math, however
//      indirectly; the webview nothing of src/ but the protocol and the small pure engine modules it re-exports.
//   3. No merge-conflict markers left in any tracked text file.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const rel = f => path.relative(root, f).split(path.sep).join('/');
const problems = [];

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function resolveImport(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, path.join(base, 'index.ts')])
    if (existsSync(c) && statSync(c).isFile() && c.endsWith('.ts')) return c;
  return undefined;
}

// 1. circles: Tarjan's strongly connected components over every relative import
const files = ['src', 'webview'].flatMap(d => tsFiles(path.join(root, d)));
const edges = new Map(
  files.map(f => [
    f,
    ts
      .preProcessFile(readFileSync(f, 'utf8'), true, true)
      .importedFiles.map(i => resolveImport(f, i.fileName))
      .filter(Boolean),
  ]),
);
let index = 0;
const idx = new Map(),
  low = new Map(),
  stack = [],
  onStack = new Set();
function strong(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const scc = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) problems.push(`import circle: ${scc.map(rel).sort().join(' ⇄ ')}`);
  }
}
for (const f of files) if (!idx.has(f)) strong(f);

// 2. what each bundle contains
async function inputs(entry, platform) {
  const r = await esbuild.build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform,
    logLevel: 'silent',
    format: platform === 'node' ? 'cjs' : 'iife',
    external: ['vscode', '@tensorflow/tfjs-node'],
    loader: { '.css': 'css' },
    alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
    outdir: path.join(root, 'dist', '.check'),
  });
  return Object.keys(r.metafile.inputs);
}
const host = await inputs('src/extension/extension.ts', 'node');
for (const i of host) {
  if (/node_modules\/(@tensorflow|onnxruntime-node)\//.test(i))
    problems.push(`the extension host bundles ${i} (TF.js and native math belong in the worker)`);
}
const allowedInWebview = new Set([
  'src/protocol.ts',
  'src/engine/types.ts',
  'src/engine/stages.ts',
  'src/engine/report/bytes.ts',
  'src/engine/report/densityAxis.ts',
  'src/engine/report/evalTerms.ts',
]);
for (const i of await inputs('webview/main.ts', 'browser')) {
  if (i.startsWith('src/') && !allowedInWebview.has(i))
    problems.push(`the webview bundles ${i} (only src/protocol.ts and what it re-exports)`);
}

// 3. conflict markers, at the start of a line, in every tracked file that is text
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
for (const f of tracked) {
  if (/\.(png|bin|npy|npz|wasm|vsix|onnx)$/i.test(f) || !existsSync(path.join(root, f))) continue;
  const text = readFileSync(path.join(root, f), 'utf8');
  const m = /^(<{7}|>{7}) /m.exec(text) ?? /^={7}$/m.exec(text);
  if (m) problems.push(`${f}:${text.slice(0, m.index).split('\n').length}: merge-conflict marker`);
}

if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(
  `tree ok: ${files.length} modules without circles; extension host (${host.length} inputs) without TF.js; webview in bounds; ` +
    `${tracked.length} files without conflict markers`,
);
