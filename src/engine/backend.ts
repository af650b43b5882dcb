// Backend selection: tfjs-node ('tensorflow') if it loads, else wasm, else cpu. One @tensorflow/tfjs instance for everyone.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { WoodFisherError, type BackendName } from './types';
import { registerWasmKernels } from './kernels/register';

export { tf };

let wasmPathsSet = false;
let nodeTried: boolean | undefined;
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
  try {
    const name = '@tensorflow/tfjs-node'; // a variable, so bundlers leave the optional dependency alone
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(name);
    nodeTried = tf.findBackendFactory('tensorflow') != null;
  } catch {
    nodeTried = false;
  }
  return nodeTried;
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
