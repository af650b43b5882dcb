// A require that bundlers leave alone: optional native packages (onnxruntime-node, tfjs-node) are loaded at run
// time from node_modules, never bundled, and their absence is not an error.
import { createRequire } from 'node:module';
import * as path from 'node:path';

export function nodeRequire(): NodeRequire {
  const from = typeof __filename === 'string' ? __filename : path.join(process.cwd(), 'index.js');
  return createRequire(from);
}

/** require(id), or undefined (with the reason) when the package is not installed or fails to load. */
export function tryRequire<T>(id: string): { mod?: T; error?: string } {
  try {
    return { mod: nodeRequire()(id) as T };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}
