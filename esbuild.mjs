// Bundles the four runtimes (see docs/design.md): extension host, worker, CLI (node, cjs) and the webview (browser).
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const node = {
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true,
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
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  { ...node, entryPoints: ['bench/bench.ts'], outfile: 'dist/bench.js' },
  { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, logLevel: 'warning',
    entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js', loader: { '.css': 'css' } },
  { ...node, entryPoints: ['test/extension/index.ts'], outfile: 'dist/test/index.js', external: ['vscode', 'mocha', '@tensorflow/tfjs-node'] },
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
  for (const e of entries) { const ctx = await esbuild.context(e); await ctx.watch(); }
} else {
  await Promise.all(entries.map(e => esbuild.build(e)));
}
