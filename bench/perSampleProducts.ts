// (p) The per-sample gradient products C[b] = A[b]ᵀB[b] (float32) on MobileNetV2-224's conv shapes, batch 8: the
// public onnxruntime-node API, awaited on this thread (src/engine/linalg/accel/batchedOnnx.ts, what runs), against the
// private `onnxruntime-node/dist/binding` called synchronously on this thread (what ran before; issue 11 asked for
// the public API). Both take turns, shape by shape, round after round, each keeping its best time.
import * as os from 'node:os';
import { onnxBatchedTN, onnxRuntimeUnavailable } from '../src/engine/linalg/accel';
import { onnxModel, ONNX_FLOAT } from '../src/engine/linalg/accel/onnxModel';
import { tryRequire } from '../src/engine/linalg/accel/nodeRequire';
import type { BenchContext } from './structured';

interface OrtTensor {
  data: Float32Array;
}
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
  dispose(): void;
}

/** The previous implementation, kept here only as the baseline: onnxruntime-node's private binding, synchronous. */
function privateBindingTN(
  threads: number,
): { matmulTN(A: Float32Array, B: Float32Array, batch: number, k: number, m: number, n: number): Float32Array; dispose(): void } | string {
  const b = tryRequire<{ binding: { InferenceSession: new () => NativeSession }; initOrt(): void }>('onnxruntime-node/dist/binding');
  const common = tryRequire<{ Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor }>('onnxruntime-node');
  if (!b.mod || !common.mod) return `the private binding does not load: ${b.error ?? common.error}`;
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
  const session = new b.mod.binding.InferenceSession();
  session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: [{ name: 'cpu' }],
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    matmulTN: (A, B, batch, k, m, n) =>
      session.run(
        {
          A: new Tensor('float32', A.subarray(0, batch * k * m), [batch, k, m]),
          B: new Tensor('float32', B.subarray(0, batch * k * n), [batch, k, n]),
        },
        { C: null },
        {},
      ).C.data,
    dispose: () => session.dispose(),
  };
}

// [k = output positions, m = output channels, n = taps × input channels] of MobileNetV2-224's convs (δᵀ × patches)
const SHAPES: [string, number, number, number][] = [
  ['stem 3×3/2, 112²', 12544, 32, 27],
  ['1×1 expand 16→96, 112²', 12544, 96, 16],
  ['1×1 project 96→24, 56²', 3136, 24, 96],
  ['1×1 expand 24→144, 56²', 3136, 144, 24],
  ['1×1 expand 32→192, 28²', 784, 192, 32],
  ['1×1 expand 64→384, 14²', 196, 384, 64],
  ['1×1 project 960→160, 7²', 49, 160, 960],
  ['1×1 head 320→1280, 7²', 49, 1280, 320],
];

export async function sectionP(ctx: BenchContext & { budget: number }): Promise<void> {
  if (onnxRuntimeUnavailable()) {
    console.log(`\n(p) per-sample products: skipped: ${onnxRuntimeUnavailable()}`);
    return;
  }
  const threads = Math.min(2, os.cpus().length),
    batch = ctx.smoke ? 2 : 8,
    rounds = ctx.smoke ? 1 : 3;
  const priv = privateBindingTN(threads);
  const pub = await onnxBatchedTN(threads);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const [label, k, m, n] of SHAPES) {
      const A = new Float32Array(batch * k * m).map(() => Math.random() - 0.5),
        B = new Float32Array(batch * k * n).map(() => Math.random() - 0.5);
      const flop = 2 * batch * k * m * n;
      let best = { pub: Infinity, priv: Infinity };
      let err = 0;
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          await pub.matmulTN(A, B, batch, k, m, n);
          best.pub = Math.min(best.pub, performance.now() - t);
        }
        if (typeof priv !== 'string') {
          for (let i = 0; i < 3; i++) {
            const t = performance.now();
            priv.matmulTN(A, B, batch, k, m, n);
            best.priv = Math.min(best.priv, performance.now() - t);
          }
        }
      }
      if (typeof priv !== 'string') {
        // the two agree (float32, different summation order)
        const x = Float32Array.from(await pub.matmulTN(A, B, batch, k, m, n)),
          y = priv.matmulTN(A, B, batch, k, m, n);
        let num = 0,
          den = 0;
        for (let i = 0; i < x.length; i++) {
          num += (x[i] - y[i]) ** 2;
          den += y[i] ** 2;
        }
        err = Math.sqrt(num / den);
      }
      rows.push({
        label,
        batch,
        k,
        m,
        n,
        publicMs: best.pub,
        privateMs: best.priv,
        publicGflops: flop / best.pub / 1e6,
        privateGflops: flop / best.priv / 1e6,
        relDiff: err,
      });
      best = { pub: Infinity, priv: Infinity };
    }
  } finally {
    pub.dispose();
    if (typeof priv !== 'string') priv.dispose();
  }
  const sum = (key: string) => rows.reduce((a, r) => a + (r[key] as number), 0);
  ctx.table(
    `(p) per-sample gradient products C[b] = A[b]ᵀB[b], float32, batch ${batch}, MobileNetV2-224 conv shapes, ${threads} onnxruntime threads; best of ${rounds} interleaved rounds × 3\n` +
      `    public = InferenceSession.run awaited on this thread (operands as they are, output into a reused buffer); private = dist/binding called synchronously (before)` +
      (typeof priv === 'string' ? `\n    ${priv}` : ''),
    ['shape', 'k × m × n', 'public ms', 'private ms', 'public GFLOP/s', 'private GFLOP/s', 'public ÷ private time', 'rel. diff'],
    [
      ...rows.map(r => [
        r.label as string,
        `${r.k}×${r.m}×${r.n}`,
        (r.publicMs as number).toFixed(2),
        (r.privateMs as number).toFixed(2),
        (r.publicGflops as number).toFixed(1),
        (r.privateGflops as number).toFixed(1),
        ((r.publicMs as number) / (r.privateMs as number)).toFixed(2),
        (r.relDiff as number).toExponential(1),
      ]),
      [
        'all shapes',
        '',
        sum('publicMs').toFixed(2),
        sum('privateMs').toFixed(2),
        '',
        '',
        (sum('publicMs') / sum('privateMs')).toFixed(2),
        '',
      ],
    ],
  );
  ctx.results.perSampleProducts = { batch, threads, shapes: rows };
}
