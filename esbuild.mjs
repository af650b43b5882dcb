// Bundles every runtime (docs/modules.md): the extension host, the worker process, its Fisher-block threads, the CLI,
// the benchmark and the workbench tests (node, cjs), and the webview (browser).
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
// vsce runs this before each VSIX (vscode:prepublish); scripts/package.sh --all builds once and packages six.
if (process.env.WOODFISHER_PREBUILT === '1' && existsSync('dist/extension.js')) {
  console.log('dist/ already built for this packaging run (WOODFISHER_PREBUILT=1)');
  process.exit(0);
}
// Shipped bundles are minified (names kept: TF.js and error reports read class names); source maps stay in dist/ only.
const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  minify: true,
  keepNames: true,
  // Native / optional modules stay external: tfjs-node is loaded only if the user's machine has it.
  external: ['vscode', '@tensorflow/tfjs-node'],
  // jsonc-parser's ESM build: esbuild cannot follow its UMD build's dynamic requires (./impl/format).
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  logLevel: 'warning',
};
const entries = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/worker/worker.ts'], outfile: 'dist/worker.js' },
  // Fisher-block worker threads, started by src/engine/fisher/blockPool.ts from beside the bundle that runs it.
  { ...node, entryPoints: ['src/engine/fisher/blockWorker.ts'], outfile: 'dist/blockWorker.js' },
  // The helper thread that owns onnxruntime-node's sessions (src/engine/linalg/accel/onnxruntime.ts starts it).
  { ...node, entryPoints: ['src/engine/linalg/accel/ortThread.ts'], outfile: 'dist/ortThread.js' },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  { ...node, entryPoints: ['bench/bench.ts'], outfile: 'dist/bench.js' },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: true,
    minify: true,
    logLevel: 'warning',
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview/main.js',
    loader: { '.css': 'css' },
  },
  {
    ...node,
    entryPoints: ['test/extension/index.ts'],
    outfile: 'dist/test/index.js',
    external: ['vscode', 'mocha', '@tensorflow/tfjs-node'],
  },
].filter(e => e.entryPoints.every(existsSync));

// The wasm backend loads its binaries at run time: ship them beside the bundles (setWasmPaths points here).
mkdirSync('dist/wasm', { recursive: true });
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  cpSync(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, `dist/wasm/${f}`);
}
// The panel's markup and style, read by src/extension/resultsPanel.ts from dist/webview.
mkdirSync('dist/webview', { recursive: true });
for (const f of ['index.html', 'style.css']) cpSync(`webview/${f}`, `dist/webview/${f}`);

if (watch) {
  for (const e of entries) {
    const ctx = await esbuild.context(e);
    await ctx.watch();
  }
} else {
  await Promise.all(entries.map(e => esbuild.build(e)));
}
