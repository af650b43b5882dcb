// The thread that owns one caller's ONNX Runtime sessions, through onnxruntime-node's public API (InferenceSession,
// Tensor; asynchronous). The caller (onnxruntime.ts) is synchronous: it posts a request on its MessagePort and sleeps
// in Atomics.wait; this thread runs the product, posts the reply, then wakes it (signal 1). Bundled as dist/ortThread.js.
// A whole factorization of factors.ts (a Fisher block's gram and recursive Cholesky inverse) also runs here as one
// request, the same generator awaiting each product: its ~30 products then cost no crossing each (performance.md).
import { workerData, type MessagePort } from 'node:worker_threads';
import { tryRequire } from './nodeRequire';
import { onnxModel, type OnnxNode, ONNX_DOUBLE, ONNX_FLOAT } from './onnxModel';
import type { ProductStep, Steps } from '../cholesky';
import { FACTORS, type FactorName } from '../factors';
import { recycle, scratch } from '../scratch';
import { WoodFisherError, type ErrorCode } from '../../types';

export type Product = 'gramCols' | 'gramRows' | 'matmulTN' | 'matmul';
/** A product, batched or not. */
export type Kind = Product | `${Product}Batch`;
export type Feed = [name: string, data: Float32Array | Float64Array, dims: number[]];
/** `out`: the buffer the product is written to (the caller's, reused), of shape `dims`. `factor`: factors.ts's `name`
 *  of `count` k×m blocks G; `what` names the matrix in a not-positive-definite error. */
export type Request =
  | { op: 'run'; kind: Kind; feeds: Feed[]; out: ArrayBuffer; dims: number[] }
  | {
      op: 'factor';
      name: FactorName;
      G: Float32Array | Float64Array;
      k: number;
      m: number;
      damp: number;
      count: number;
      what: string;
      spare?: ArrayBuffer[]; // the caller's free buffers of the outputs' sizes, for the outputs
    }
  | { op: 'exit' };
/** `back`: the operands' buffers, returned for reuse (allocating fresh large buffers — zeroing, page faults, GC — cost
 *  more than the JS around the small products did). `code`: a WoodFisherError's (a block that is not positive definite). */
export type Reply =
  | { ok: true; C?: Float64Array; parts?: Float64Array[]; back?: ArrayBuffer[]; version?: string }
  | { ok: false; error: string; code?: ErrorCode };
export interface ThreadInit {
  port: MessagePort;
  signal: Int32Array;
  precision: 'float32' | 'float64';
  threads: number;
}

/** Signal values in Int32Array slot 0: the caller waits while it is WAITING. */
export const WAITING = 0,
  REPLIED = 1,
  GONE = 2;

// Public API surface used here (onnxruntime-node is an optional dependency: no compile-time import).
interface OrtTensor {
  data: Float32Array | Float64Array;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
  Tensor: new (type: 'float32' | 'float64', data: Float32Array | Float64Array, dims: number[]) => OrtTensor;
  env: { versions: { node?: string; common?: string } };
}

// One product: a Gemm (transposes as attributes). A batch: MatMul over [count, ·, ·] (Gemm is 2-D only), a
// transposed operand through Transpose(perm 0,2,1).
const t3 = (x: string): OnnxNode => ({ op: 'Transpose', inputs: [x], outputs: [`${x}t`], attrs: { perm: [0, 2, 1] } });
export const GRAPHS: Record<Kind, { nodes: OnnxNode[]; inputs: [string, string[]][]; out: string[] }> = {
  gramCols: {
    nodes: [{ op: 'Gemm', inputs: ['A', 'A'], outputs: ['C'], attrs: { transA: 1 } }],
    inputs: [['A', ['k', 'm']]],
    out: ['m', 'm'],
  },
  gramRows: {
    nodes: [{ op: 'Gemm', inputs: ['A', 'A'], outputs: ['C'], attrs: { transB: 1 } }],
    inputs: [['A', ['m', 'k']]],
    out: ['m', 'm'],
  },
  matmulTN: {
    nodes: [{ op: 'Gemm', inputs: ['A', 'B'], outputs: ['C'], attrs: { transA: 1 } }],
    inputs: [
      ['A', ['k', 'm']],
      ['B', ['k', 'n']],
    ],
    out: ['m', 'n'],
  },
  matmul: {
    nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }],
    inputs: [
      ['A', ['m', 'k']],
      ['B', ['k', 'n']],
    ],
    out: ['m', 'n'],
  },
  gramColsBatch: {
    nodes: [t3('A'), { op: 'MatMul', inputs: ['At', 'A'], outputs: ['C'] }],
    inputs: [['A', ['c', 'k', 'm']]],
    out: ['c', 'm', 'm'],
  },
  gramRowsBatch: {
    nodes: [t3('A'), { op: 'MatMul', inputs: ['A', 'At'], outputs: ['C'] }],
    inputs: [['A', ['c', 'm', 'k']]],
    out: ['c', 'm', 'm'],
  },
  matmulTNBatch: {
    nodes: [t3('A'), { op: 'MatMul', inputs: ['At', 'B'], outputs: ['C'] }],
    inputs: [
      ['A', ['c', 'k', 'm']],
      ['B', ['c', 'k', 'n']],
    ],
    out: ['c', 'm', 'n'],
  },
  matmulBatch: {
    nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }],
    inputs: [
      ['A', ['c', 'm', 'k']],
      ['B', ['c', 'k', 'n']],
    ],
    out: ['c', 'm', 'n'],
  },
};

function serve({ port, signal, precision, threads }: ThreadInit): void {
  const reply = (r: Reply, transfer: ArrayBuffer[] = []) => {
    port.postMessage(r, transfer);
    Atomics.store(signal, 0, REPLIED);
    Atomics.notify(signal, 0);
  };
  // Whatever ends this thread (an error outside a request included) wakes a waiting caller instead of leaving it asleep.
  process.on('exit', () => {
    Atomics.store(signal, 0, GONE);
    Atomics.notify(signal, 0);
  });

  const loaded = tryRequire<Ort>('onnxruntime-node');
  if (!loaded.mod) {
    reply({ ok: false, error: `onnxruntime-node not loadable: ${loaded.error}` });
    port.close();
    return;
  }
  const ort = loaded.mod;
  const elem = precision === 'float64' ? ONNX_DOUBLE : ONNX_FLOAT;
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
  const sessions = new Map<string, Promise<OrtSession>>();
  const session = (key: string, bytes: () => Uint8Array): Promise<OrtSession> => {
    let s = sessions.get(key);
    if (!s) {
      s = ort.InferenceSession.create(bytes(), options);
      sessions.set(key, s);
    }
    return s;
  };
  const product = (kind: Kind) =>
    session(kind, () => {
      const g = GRAPHS[kind];
      return onnxModel(
        g.nodes,
        g.inputs.map(([name, dims]) => ({ name, elemType: elem, dims })),
        [{ name: 'C', elemType: elem, dims: g.out }],
      );
    });
  // every operand is float64: factors.ts widens float32 gradients before they reach a product
  const tensor = (A: Float32Array | Float64Array, len: number, dims: number[]) => new ort.Tensor('float64', A.subarray(0, len), dims);
  /** One batched float64 product of a factorization (only float64 providers offer them), into a scratch buffer (the
   *  generator recycles it). */
  const step = async (p: ProductStep): Promise<Float64Array> => {
    const [rows, cols] = p.op === 'gramCols' || p.op === 'gramRows' ? [p.m, p.m] : [p.m, p.n];
    const C = scratch(p.count * rows * cols),
      c = p.count;
    const feeds: Record<string, OrtTensor> =
      p.op === 'gramCols'
        ? { A: tensor(p.A, c * p.k * p.m, [c, p.k, p.m]) }
        : p.op === 'gramRows'
          ? { A: tensor(p.A, c * p.m * p.k, [c, p.m, p.k]) }
          : p.op === 'matmul'
            ? { A: tensor(p.A, c * p.m * p.k, [c, p.m, p.k]), B: tensor(p.B, c * p.k * p.n, [c, p.k, p.n]) }
            : { A: tensor(p.A, c * p.k * p.m, [c, p.k, p.m]), B: tensor(p.B, c * p.k * p.n, [c, p.k, p.n]) };
    await (await product(`${p.op}Batch`)).run(feeds, { C: new ort.Tensor('float64', C, [c, rows, cols]) });
    return C;
  };
  const runSteps = async <T>(steps: Steps<T>): Promise<T> => {
    for (let r = steps.next(); ; r = steps.next(await step(r.value))) if (r.done) return r.value;
  };
  /** factors.ts's generator with its products run here. The caller's spare buffers join the pool first, so the
   *  outputs that leave to it are written into pages already touched (docs/performance.md). */
  const factor = ({ name, G, k, m, damp, count, what, spare }: Extract<Request, { op: 'factor' }>): Promise<Float64Array[]> => {
    recycle(...(spare ?? []));
    return runSteps(FACTORS[name](G, k, m, damp, count, what));
  };

  port.on('message', async (req: Request) => {
    try {
      if (req.op === 'exit') {
        for (const s of sessions.values()) await (await s).release();
        sessions.clear();
        reply({ ok: true });
        port.close(); // nothing left to keep the thread: it leaves between products, never inside one
        return;
      }
      if (req.op === 'factor') {
        const parts = await factor(req);
        const back = req.G.buffer as ArrayBuffer;
        reply({ ok: true, parts, back: [back] }, [...new Set([...parts.map(p => p.buffer as ArrayBuffer), back])]);
        return;
      }
      const feeds: Record<string, OrtTensor> = {};
      for (const [name, data, dims] of req.feeds) feeds[name] = new ort.Tensor(precision, data, dims);
      const s = await product(req.kind);
      const back = req.feeds.map(f => f[1].buffer as ArrayBuffer);
      const C = new Float64Array(req.out);
      if (precision === 'float64')
        await s.run(feeds, { C: new ort.Tensor('float64', C, req.dims) }); // written in place
      else C.set((await s.run(feeds)).C.data);
      reply({ ok: true, C, back }, [C.buffer, ...new Set(back)]);
    } catch (e) {
      reply({ ok: false, error: (e as Error).message.split('\n')[0], code: e instanceof WoodFisherError ? e.code : undefined });
    }
  });
  reply({ ok: true, version: ort.env.versions.node ?? ort.env.versions.common }); // ready
}

if (workerData && (workerData as ThreadInit).port) serve(workerData as ThreadInit);
