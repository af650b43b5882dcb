// The thread that owns one caller's ONNX Runtime sessions, through onnxruntime-node's public API (InferenceSession,
// Tensor; asynchronous). The caller (onnxruntime.ts) is synchronous: it posts a request on its MessagePort and sleeps
// in Atomics.wait; this thread runs the product, posts the reply, then wakes it (signal 1). Bundled as dist/ortThread.js.
// A whole primal Fisher factor (the damped gram, then cholesky.ts's recursion) also runs here as one request: its ~30
// products then cost no crossing each (docs/performance.md, "many small Fisher blocks").
import { workerData, type MessagePort } from 'node:worker_threads';
import { tryRequire } from './nodeRequire';
import { onnxModel, type OnnxNode, ONNX_DOUBLE, ONNX_FLOAT } from './onnxModel';
import { choleskyInverseSteps, type ProductStep, type Steps } from '../cholesky';
import { recycle, scratch } from '../scratch';
import { WoodFisherError, type ErrorCode } from '../../types';

export type Product = 'gramCols' | 'gramRows' | 'matmulTN' | 'matmul';
/** A product, batched or not. */
export type Kind = Product | `${Product}Batch`;
export type Feed = [name: string, data: Float32Array | Float64Array, dims: number[]];
/** `out`: the buffer the product is written to (the caller's, reused), of shape `dims`. `factor`: R = L⁻¹ with
 *  LLᵀ = λI + GᵀG/k for `count` k×m blocks G; `what` names the matrix in a not-positive-definite error. */
export type Request =
  | { op: 'run'; kind: Kind; feeds: Feed[]; out: ArrayBuffer; dims: number[] }
  | { op: 'factor'; G: Float32Array | Float64Array; k: number; m: number; damp: number; count: number; what: string }
  | { op: 'exit' };
/** `back`: the operands' buffers, returned for reuse (allocating fresh large buffers — zeroing, page faults, GC — cost
 *  more than the JS around the small products did). `code`: a WoodFisherError's (a block that is not positive definite). */
export type Reply = { ok: true; C?: Float64Array; back?: ArrayBuffer[]; version?: string } | { ok: false; error: string; code?: ErrorCode };
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
const GRAPHS: Record<Kind, { nodes: OnnxNode[]; inputs: [string, string[]][]; out: string[] }> = {
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
  const f64 = (data: Float64Array, dims: number[]) => new ort.Tensor('float64', data, dims);
  /** One batched float64 product of the recursion, into a scratch buffer (the recursion recycles it). */
  const step = async (p: ProductStep): Promise<Float64Array> => {
    const [rows, cols] = p.op === 'gramCols' ? [p.m, p.m] : [p.m, p.n];
    const C = scratch(p.count * rows * cols),
      dims = (r: number, c: number) => [p.count, r, c];
    const feeds: Record<string, OrtTensor> =
      p.op === 'gramCols'
        ? { A: f64(p.A.subarray(0, p.count * p.k * p.m), dims(p.k, p.m)) }
        : p.op === 'matmul'
          ? { A: f64(p.A.subarray(0, p.count * p.m * p.k), dims(p.m, p.k)), B: f64(p.B.subarray(0, p.count * p.k * p.n), dims(p.k, p.n)) }
          : { A: f64(p.A.subarray(0, p.count * p.k * p.m), dims(p.k, p.m)), B: f64(p.B.subarray(0, p.count * p.k * p.n), dims(p.k, p.n)) };
    await (await product(`${p.op}Batch`)).run(feeds, { C: f64(C, dims(rows, cols)) });
    return C;
  };
  const runSteps = async <T>(steps: Steps<T>): Promise<T> => {
    for (let r = steps.next(); ; r = steps.next(await step(r.value))) if (r.done) return r.value;
  };
  const gram = () =>
    session('dampedGram', () =>
      onnxModel(
        [
          t3('G'),
          { op: 'MatMul', inputs: ['Gt', 'G'], outputs: ['GtG'] },
          { op: 'Mul', inputs: ['GtG', 's'], outputs: ['sGtG'] },
          { op: 'Add', inputs: ['sGtG', 'D'], outputs: ['C'] }, // λI + GᵀG/k
        ],
        [
          { name: 'G', elemType: ONNX_DOUBLE, dims: ['c', 'k', 'm'] },
          { name: 's', elemType: ONNX_DOUBLE, dims: [1] },
          { name: 'D', elemType: ONNX_DOUBLE, dims: ['m', 'm'] },
        ],
        [{ name: 'C', elemType: ONNX_DOUBLE, dims: ['c', 'm', 'm'] }],
      ),
    );
  /** R = L⁻¹, LLᵀ = λI + GᵀG/k, for a batch: the damped gram in one graph, then cholesky.ts's recursion with its
   *  products run here (the same products as product by product from the caller, without a crossing each). */
  const factor = async ({ G, k, m, damp, count, what }: Extract<Request, { op: 'factor' }>): Promise<Float64Array> => {
    const G64 = G instanceof Float64Array ? G : scratch(G.length);
    if (G64 !== G) G64.set(G);
    const D = scratch(m * m).fill(0);
    for (let i = 0; i < m; i++) D[i * m + i] = damp;
    const A = scratch(count * m * m);
    await (
      await gram()
    ).run({ G: f64(G64, [count, k, m]), s: f64(Float64Array.of(1 / k), [1]), D: f64(D, [m, m]) }, { C: f64(A, [count, m, m]) });
    recycle(D);
    if (G64 !== G) recycle(G64);
    const { Linv } = await runSteps(choleskyInverseSteps(A, m, { count, what }));
    recycle(A);
    return Linv;
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
        const R = await factor(req);
        const back = req.G.buffer as ArrayBuffer;
        reply({ ok: true, C: R, back: [back] }, [R.buffer as ArrayBuffer, back]);
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
