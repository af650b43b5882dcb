// Batched float32 products C[b] = A[b]ᵀ B[b] on onnxruntime-node (one FusedMatMul node, transA): the per-sample
// weight gradients of conv and dense layers (k = output positions, long; m, n = channels). wasm's BatchMatMul
// with transposeA ran at ~2 GFLOP per CPU second on these shapes, MLAS at 18–70 (docs/performance.md).
import * as os from 'node:os';
import { onnxModel, ONNX_FLOAT } from './onnxModel';
import { tryRequire } from './nodeRequire';

interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
  dispose(): void;
}

export interface BatchedTN {
  readonly name: string;
  /** C[b] = A[b]ᵀ B[b]: A is [batch, k, m], B is [batch, k, n] (row-major views, any ArrayBuffer) → [batch, m, n]. */
  matmulTN(A: Float32Array, B: Float32Array, batch: number, k: number, m: number, n: number): Float32Array;
  dispose(): void;
}

let shared: BatchedTN | null | undefined;

/** The process-wide onnxruntime batched product, or undefined when onnxruntime-node does not load. */
export function batchedTN(): BatchedTN | undefined {
  if (shared === undefined) {
    try {
      shared = onnxBatchedTN();
    } catch {
      shared = null;
    }
  }
  return shared ?? undefined;
}

/** Frees the shared session (before a thread or process exits). */
export function releaseBatchedTN(): void {
  shared?.dispose();
  shared = undefined;
}

export function onnxBatchedTN(threads = Math.min(2, os.cpus().length)): BatchedTN {
  const b = tryRequire<{ binding: { InferenceSession: new () => NativeSession }; initOrt(): void }>('onnxruntime-node/dist/binding');
  const common = tryRequire<{ Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor }>('onnxruntime-node');
  if (!b.mod || !common.mod) throw new Error(`onnxruntime-node not loadable: ${b.error ?? common.error}`);
  b.mod.initOrt();
  const Tensor = common.mod.Tensor;
  const bytes = onnxModel(
    [{ op: 'FusedMatMul', domain: 'com.microsoft', inputs: ['A', 'B'], outputs: ['C'], attrs: { transA: 1 } }],
    [
      { name: 'A', elemType: ONNX_FLOAT, dims: ['b', 'k', 'm'] },
      { name: 'B', elemType: ONNX_FLOAT, dims: ['b', 'k', 'n'] },
    ],
    [{ name: 'C', elemType: ONNX_FLOAT, dims: ['b', 'm', 'n'] }],
  );
  let session: NativeSession | undefined = new b.mod.binding.InferenceSession();
  session.loadModel(
    bytes.buffer as ArrayBuffer,
    bytes.byteOffset,
    bytes.byteLength,
    // no spinning: idle pool threads otherwise busy-wait ~40% of a core after each product, which the wasm thread
    // (the rest of the gradient pass) then competes with (measured: 150 CPU ms per 400 ms idle, 1 without)
    {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionProviders: [{ name: 'cpu' }],
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    },
  );
  return {
    name: `onnxruntime-f32 (${threads} thread${threads > 1 ? 's' : ''})`,
    matmulTN(A, B, batch, k, m, n) {
      if (!session) throw new Error('batched product used after dispose');
      if (A.length < batch * k * m || B.length < batch * k * n)
        throw new RangeError(`matmulTN: operands shorter than [${batch}, ${k}, ${m}] / [${batch}, ${k}, ${n}]`);
      const out = session.run(
        {
          A: new Tensor('float32', A.subarray(0, batch * k * m), [batch, k, m]),
          B: new Tensor('float32', B.subarray(0, batch * k * n), [batch, k, n]),
        },
        { C: null },
        {},
      );
      return out.C.data;
    },
    dispose() {
      session?.dispose();
      session = undefined;
    },
  };
}
