// Backend selection: tfjs-node ('tensorflow') if it loads, else wasm, else cpu. One @tensorflow/tfjs instance for everyone.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { WoodFisherError, type BackendName } from './types';
import { registerWasmKernels, replaceWrongKernels } from './kernels/register';

export { tf };

let wasmPathsSet = false;
let nodeTried: boolean | undefined;
let nodeError: string | undefined;
let current: string | undefined;

/** Folder holding tfjs-backend-wasm*.wasm: beside the bundle (dist/wasm/) or in node_modules. */
export function wasmDir(): string | undefined {
  const candidates = [path.join(__dirname, 'wasm')];
  try {
    candidates.push(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')));
  } catch {
    /* not resolvable from a bundle */
  }
  candidates.push(path.join(process.cwd(), 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist'));
  return candidates.find(d => fs.existsSync(path.join(d, 'tfjs-backend-wasm.wasm')));
}

/** Guarded require of tfjs-node: it registers the 'tensorflow' backend on the shared tfjs-core when it loads. */
function tryLoadNode(): boolean {
  if (nodeTried !== undefined) return nodeTried;
  const name = '@tensorflow/tfjs-node'; // a variable, so bundlers leave the optional dependency alone
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(name);
    nodeTried = tf.findBackendFactory('tensorflow') != null;
    if (!nodeTried) nodeError = 'loaded but registered no tensorflow backend';
  } catch (e) {
    nodeTried = false;
    const err = e as NodeJS.ErrnoException;
    nodeError =
      err.code === 'MODULE_NOT_FOUND' && err.message.includes(name) ? 'is not installed' : `could not load (${err.message.split('\n')[0]})`;
  }
  return nodeTried;
}

/** Why TF.js is not on tfjs-node: set when 'auto' looked for @tensorflow/tfjs-node and it did not load, and the run
 *  is on `backend` instead; undefined when tfjs-node runs or was not asked for (an explicit --backend wasm). */
export function tfjsNodeMissing(backend: string): string | undefined {
  return backend !== 'tensorflow' && nodeTried === false ? nodeError : undefined;
}

/**
 * The one line a user reads when TF.js fell back from tfjs-node: what ran, what it costs, how to get it. The factor is
 * users' reports, not a measurement here (libtensorflow cannot be downloaded on this project's machines): see
 * docs/performance.md, "tfjs-node". tfjs-node is found where Node looks for packages: beside a global woodfisher, or in
 * a node_modules folder above the extension's own (extensions live under the home folder, so ~/node_modules).
 */
export function tfjsNodeNotice(backend: string, reason: string): string {
  return (
    `TF.js ran on ${backend}: @tensorflow/tfjs-node ${reason}. With it, evaluation (and the gradient pass of models onnxruntime-node cannot run) runs on native TensorFlow, ` +
    `about 2× faster than wasm on conv models in users' reports (not measured here; docs/performance.md). ` +
    'Install it where woodfisher runs: `npm install -g @tensorflow/tfjs-node` beside a global woodfisher (CLI), or ' +
    '`npm install @tensorflow/tfjs-node` in your home folder (VS Code); its install downloads libtensorflow (Linux x64, macOS, Windows x64).'
  );
}

async function trySet(name: string): Promise<boolean> {
  if (name === 'wasm' && !wasmPathsSet) {
    const dir = wasmDir();
    if (!dir) return false;
    setWasmPaths(dir + path.sep);
    wasmPathsSet = true;
  }
  try {
    // tf.setBackend logs and returns false when initialisation fails; silence that, we report ourselves.
    const warn = console.warn;
    console.warn = () => {};
    let ok = false;
    try {
      ok = await tf.setBackend(name);
    } finally {
      console.warn = warn;
    }
    if (!ok) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** Selects and initialises a backend; returns the one actually running. Idempotent. */
export async function initBackend(name: BackendName = 'auto'): Promise<string> {
  if (current && (name === 'auto' || name === current) && tf.getBackend() === current) return current;
  const order = name === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [name];
  for (const b of order) {
    if (b === 'tensorflow' && !tryLoadNode()) continue;
    if (await trySet(b)) {
      if (b === 'wasm') registerWasmKernels();
      replaceWrongKernels(b);
      current = b;
      return b;
    }
  }
  const why: Record<string, string> = {
    tensorflow: 'the optional package @tensorflow/tfjs-node is not installed or could not load libtensorflow',
    wasm: `the WebAssembly binaries (tfjs-backend-wasm*.wasm) were not found in ${path.join(__dirname, 'wasm')} or node_modules/@tensorflow/tfjs-backend-wasm/dist, or failed to start`,
    cpu: 'the cpu backend failed to start',
  };
  throw new WoodFisherError(`Backend '${name}' is not available: ${why[name] ?? 'unknown backend'}.`, 'BACKEND');
}
