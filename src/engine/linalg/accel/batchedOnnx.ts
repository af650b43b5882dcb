// Batched float32 products C[b] = A[b]ᵀ B[b] on onnxruntime-node: the per-sample weight gradients of conv and dense
// layers (k = output positions, long; m, n = channels). wasm's BatchMatMul with transposeA ran at ~2 GFLOP per CPU
// second on these shapes, MLAS at 18–70 (docs/performance.md). Through the public API (InferenceSession, Tensor) on
// the calling thread: the gradient pass awaits each product, and the operands go in as they are (views of the wasm
// heap, no copy) — the helper thread the synchronous Fisher math uses (ortThread.ts) would copy tens of MB a layer
// and ran 3× slower on these shapes (bench section p). A MatMul over [batch, ·, ·] with a transposed A, which ONNX
// Runtime fuses into one FusedMatMul (transA); 2 intra-op threads that do not spin between products.
import * as os from 'node:os';
import { onnxModel, ONNX_FLOAT, type OnnxNode } from './onnxModel';
import { tryRequire } from './nodeRequire';
import { onnxRuntimeUnavailable } from './onnxruntime';
import { recycle, takeBuffer } from '../scratch';

export interface BatchedTN {
  readonly name: string;
  /** C[b] = A[b]ᵀ B[b]: A is [batch, k, m], B is [batch, k, n] (row-major views, any ArrayBuffer) → [batch, m, n].
   *  The operands must stay valid until the promise settles (no TF.js op in between: wasm heap views move when the
   *  heap grows); the result is valid until the next call (its buffer is reused). */
  matmulTN(A: Float32Array, B: Float32Array, batch: number, k: number, m: number, n: number): Promise<Float32Array>;
  dispose(): void;
}

// Public API surface used here (onnxruntime-node is an optional dependency: no compile-time import).
interface OrtTensor {
  data: Float32Array;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
}

let shared: Promise<BatchedTN | undefined> | undefined;

/** The process-wide onnxruntime batched product, or undefined when onnxruntime-node does not load. */
export function batchedTN(): Promise<BatchedTN | undefined> {
  shared ??= onnxBatchedTN().catch(() => undefined);
  return shared;
}

/** Frees the shared session (before a thread or process exits). */
export async function releaseBatchedTN(): Promise<void> {
  const s = shared;
  shared = undefined;
  (await s)?.dispose();
}

const t3 = (x: string): OnnxNode => ({ op: 'Transpose', inputs: [x], outputs: [`${x}t`], attrs: { perm: [0, 2, 1] } });

export async function onnxBatchedTN(threads = Math.min(2, os.cpus().length)): Promise<BatchedTN> {
  const why = onnxRuntimeUnavailable(); // checks its native files first: a cut one would end the process
  if (why) throw new Error(why);
  const loaded = tryRequire<Ort>('onnxruntime-node');
  if (!loaded.mod) throw new Error(`onnxruntime-node not loadable: ${loaded.error}`);
  const ort = loaded.mod;
  const bytes = onnxModel(
    [t3('A'), { op: 'MatMul', inputs: ['At', 'B'], outputs: ['C'] }],
    [
      { name: 'A', elemType: ONNX_FLOAT, dims: ['b', 'k', 'm'] },
      { name: 'B', elemType: ONNX_FLOAT, dims: ['b', 'k', 'n'] },
    ],
    [{ name: 'C', elemType: ONNX_FLOAT, dims: ['b', 'm', 'n'] }],
  );
  let session: OrtSession | undefined = await ort.InferenceSession.create(
    bytes,
    // no spinning: idle pool threads otherwise busy-wait ~40% of a core after each product, which the wasm thread
    // (the rest of the gradient pass) then competes with (measured: 150 CPU ms per 400 ms idle, 1 without)
    {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    },
  );
  let last: Float32Array | undefined;
  return {
    name: `onnxruntime-f32 (${threads} thread${threads > 1 ? 's' : ''})`,
    async matmulTN(A, B, batch, k, m, n) {
      if (!session) throw new Error('batched product used after dispose');
      if (A.length < batch * k * m || B.length < batch * k * n)
        throw new RangeError(`matmulTN: operands shorter than [${batch}, ${k}, ${m}] / [${batch}, ${k}, ${n}]`);
      recycle(last);
      const C = new Float32Array(takeBuffer(4 * batch * m * n));
      last = C;
      await session.run(
        {
          A: new ort.Tensor('float32', A.subarray(0, batch * k * m), [batch, k, m]),
          B: new ort.Tensor('float32', B.subarray(0, batch * k * n), [batch, k, n]),
        },
        { C: new ort.Tensor('float32', C, [batch, m, n]) },
      ); // written in place
      return C;
    },
    dispose() {
      void session?.release();
      session = undefined;
      recycle(last);
      last = undefined;
    },
  };
}
