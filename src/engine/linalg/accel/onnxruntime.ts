// onnxruntime-node provider: each product is one Gemm / MatMul node run by ONNX Runtime's CPU kernels (MLAS),
// in float32 or float64. Sessions are built once per product kind (dimensions are symbolic) and run synchronously
// through the package's native binding, so the provider fits the synchronous GemmBackend interface.
import { GemmProvider, Matrix, checkSize } from './types';
import { onnxModel, OnnxNode, ONNX_DOUBLE, ONNX_FLOAT } from './onnxModel';
import { tryRequire } from './nodeRequire';

interface OrtTensor { data: Float32Array | Float64Array; dims: readonly number[]; dispose?(): void }
interface OrtTensorCtor { new (type: 'float32' | 'float64', data: Float32Array | Float64Array, dims: number[]): OrtTensor }
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
  dispose(): void;
}
interface BindingModule { binding: { InferenceSession: new () => NativeSession }; initOrt(): void }

export interface OnnxRuntimeOptions {
  precision?: 'float32' | 'float64';
  /** Threads of one product (ONNX Runtime's intra-op pool). Default 1: the engine parallelises across blocks. */
  threads?: number;
}

/** Why onnxruntime-node is not usable here, or undefined when it is. */
export function onnxRuntimeUnavailable(): string | undefined {
  const b = tryRequire<BindingModule>('onnxruntime-node/dist/binding');
  return b.mod ? undefined : `onnxruntime-node not loadable: ${b.error}`;
}

type Product = 'gramCols' | 'gramRows' | 'matmulTN' | 'matmul';
type Kind = Product | `${Product}Batch`;

// One product: a Gemm (transposes as attributes). A batch: MatMul over [count, ·, ·] (Gemm is 2-D only), a
// transposed operand through Transpose(perm 0,2,1).
const t3 = (x: string): OnnxNode => ({ op: 'Transpose', inputs: [x], outputs: [`${x}t`], attrs: { perm: [0, 2, 1] } });
const GRAPHS: Record<Kind, { nodes: OnnxNode[]; inputs: [string, string[]][]; out: string[] }> = {
  gramCols: { nodes: [{ op: 'Gemm', inputs: ['A', 'A'], outputs: ['C'], attrs: { transA: 1 } }], inputs: [['A', ['k', 'm']]], out: ['m', 'm'] },
  gramRows: { nodes: [{ op: 'Gemm', inputs: ['A', 'A'], outputs: ['C'], attrs: { transB: 1 } }], inputs: [['A', ['m', 'k']]], out: ['m', 'm'] },
  matmulTN: { nodes: [{ op: 'Gemm', inputs: ['A', 'B'], outputs: ['C'], attrs: { transA: 1 } }], inputs: [['A', ['k', 'm']], ['B', ['k', 'n']]], out: ['m', 'n'] },
  matmul: { nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }], inputs: [['A', ['m', 'k']], ['B', ['k', 'n']]], out: ['m', 'n'] },
  gramColsBatch: { nodes: [t3('A'), { op: 'MatMul', inputs: ['At', 'A'], outputs: ['C'] }], inputs: [['A', ['c', 'k', 'm']]], out: ['c', 'm', 'm'] },
  gramRowsBatch: { nodes: [t3('A'), { op: 'MatMul', inputs: ['A', 'At'], outputs: ['C'] }], inputs: [['A', ['c', 'm', 'k']]], out: ['c', 'm', 'm'] },
  matmulTNBatch: { nodes: [t3('A'), { op: 'MatMul', inputs: ['At', 'B'], outputs: ['C'] }], inputs: [['A', ['c', 'k', 'm']], ['B', ['c', 'k', 'n']]], out: ['c', 'm', 'n'] },
  matmulBatch: { nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }], inputs: [['A', ['c', 'm', 'k']], ['B', ['c', 'k', 'n']]], out: ['c', 'm', 'n'] },
};

/** Returns the provider, or throws (with the reason) when onnxruntime-node is not installed. */
export function onnxRuntimeProvider(opts: OnnxRuntimeOptions = {}): GemmProvider {
  const precision = opts.precision ?? 'float32';
  const threads = opts.threads ?? 1;
  const b = tryRequire<BindingModule>('onnxruntime-node/dist/binding');
  const common = tryRequire<{ Tensor: OrtTensorCtor }>('onnxruntime-node');
  if (!b.mod || !common.mod) throw new Error(`onnxruntime-node not loadable: ${b.error ?? common.error}`);
  const { binding, initOrt } = b.mod;
  const Tensor = common.mod.Tensor;
  initOrt();
  const elem = precision === 'float64' ? ONNX_DOUBLE : ONNX_FLOAT;
  const type = precision === 'float64' ? 'float64' : 'float32';
  const sessions = new Map<Kind, NativeSession>();
  const sessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: [{ name: 'cpu' }] };

  const session = (kind: Kind): NativeSession => {
    let s = sessions.get(kind);
    if (!s) {
      const g = GRAPHS[kind];
      const bytes = onnxModel(g.nodes, g.inputs.map(([name, dims]) => ({ name, elemType: elem, dims })), [{ name: 'C', elemType: elem, dims: g.out }]);
      s = new binding.InferenceSession();
      s.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, sessionOptions);
      sessions.set(kind, s);
    }
    return s;
  };
  const cast = (A: Matrix, len: number): Float32Array | Float64Array => {
    if (precision === 'float64') return A instanceof Float64Array ? (A.length === len ? A : A.subarray(0, len)) : Float64Array.from(A.subarray(0, len));
    return A instanceof Float32Array ? (A.length === len ? A : A.subarray(0, len)) : Float32Array.from(A.subarray(0, len));
  };
  /** One session run; with count > 1 the batched graph, every input [count, rows, cols]. */
  const run = (kind: Product, count: number, feeds: [string, Matrix, [number, number]][]): Float64Array => {
    const t: Record<string, OrtTensor> = {};
    for (const [name, A, [r, c]] of feeds) {
      checkSize(`${kind} ${name}`, A, count * r * c);
      t[name] = new Tensor(type, cast(A, count * r * c), count === 1 ? [r, c] : [count, r, c]);
    }
    const out = session(count === 1 ? kind : `${kind}Batch`).run(t, { C: null }, {}).C;
    const data = out.data;
    return data instanceof Float64Array ? data : Float64Array.from(data);
  };
  return {
    name: `onnxruntime-${precision === 'float64' ? 'f64' : 'f32'}`,
    precision,
    gramCols: (A, k, m, c = 1) => run('gramCols', c, [['A', A, [k, m]]]),
    gramRows: (A, m, k, c = 1) => run('gramRows', c, [['A', A, [m, k]]]),
    matmulTN: (A, B, k, m, n, c = 1) => run('matmulTN', c, [['A', A, [k, m]], ['B', B, [k, n]]]),
    matmul: (A, B, m, k, n, c = 1) => run('matmul', c, [['A', A, [m, k]], ['B', B, [k, n]]]),
    dispose: () => { for (const s of sessions.values()) s.dispose(); sessions.clear(); },
  };
}
