// Runs onnxGraph.ts's pass on onnxruntime-node through its public API (InferenceSession, Tensor): one session per
// batch size (the grouped convs of the per-sample rows have the batch in their group count), kernels as constants
// so that ONNX Runtime can lay them out for its own conv kernels; rows written into buffers reused between batches.
import * as os from 'node:os';
import type { tf } from '../backend';
import type { PrunableLayer } from '../types';
import { onnxModel } from '../linalg/accel/onnxModel';
import { tryRequire } from '../linalg/accel/nodeRequire';
import { onnxRuntimeUnavailable } from '../linalg/accel/onnxruntime';
import { populate } from '../linalg/accel/openblas';
import { passGraph, PASS_OPSET, type PassGraphOptions } from './onnxGraph';
import type { GraphStep } from './backward';

export interface PassOutput {
  rows: Map<string, Float32Array>; // [B, d] per fetched layer, valid until the next run
  sums: Map<string, Float32Array>; // [B] per fetched layer: each sample's row summed (non-finite when a value is)
  loss: Float32Array; // [B]
  labels?: Int32Array; // [B], when drawn in the graph
}

export interface OnnxPass {
  readonly name: string;
  /** x: [B, …input] (NHWC); labels given, or u[n] ∈ [0, 1) to draw them from. */
  run(x: Float32Array, labels: Int32Array | undefined, u: Float32Array | undefined): Promise<PassOutput>;
  dispose(): Promise<void>;
}

interface OrtTensor {
  data: Float32Array | BigInt64Array;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
  Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
}

/** The pass on ONNX Runtime for this model and batch, or why it cannot run there (onnxruntime-node missing, a layer
 *  without a rule). */
export async function onnxPass(
  model: tf.LayersModel,
  steps: GraphStep[],
  layers: PrunableLayer[],
  o: PassGraphOptions,
  fetch: ReadonlySet<string> = o.wanted, // the wanted layers whose rows are read (the others are computed, not copied out)
  threads = Math.min(2, os.cpus().length),
): Promise<OnnxPass | string> {
  const why = onnxRuntimeUnavailable();
  if (why) return why;
  const loaded = tryRequire<Ort>('onnxruntime-node');
  if (!loaded.mod) return `onnxruntime-node not loadable: ${loaded.error}`;
  const ort = loaded.mod;
  const g = passGraph(model, steps, layers, o);
  if (typeof g === 'string') return g;
  let session: OrtSession | undefined;
  try {
    session = await ort.InferenceSession.create(onnxModel(g.nodes, g.inputs, g.outputs, g.inits, PASS_OPSET), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
      // no memory pattern: it allocates a second arena block on the second run (MobileNetV2-224, batch 8: +0.7 GB of
      // fresh pages, that run 1.4× the third); without it the first run pays the pages once
      enableMemPattern: false,
      logSeverityLevel: 4, // fatal only: its warnings and errors would go to the user's stderr (a failed load is returned as the reason)
      // pool threads spin between kernels (the main thread waits for the run): pass 2.7–3.0 s against 3.2 s without
      extra: { session: { intra_op: { allow_spinning: '1' } } },
    });
  } catch (e) {
    return `onnxruntime did not load the pass's graph (${String((e as Error)?.message ?? e).split('\n')[0]})`;
  }
  const B = o.batch;
  const sizes = new Map(layers.map(l => [l.name, l.size]));
  const buffer = (n: number) => populate(new Float32Array(n));
  const rows = new Map(
    [...g.rows].filter(([layer]) => fetch.has(layer)).map(([layer, out]) => [layer, { out, data: buffer(B * sizes.get(layer)!) }]),
  );
  const inputDims = g.inputs[0].dims as number[];
  const order = new Map([...g.rows.keys()].map((layer, i) => [layer, i])); // row of each layer in output `sums`
  return {
    name: `onnxruntime (${threads} thread${threads > 1 ? 's' : ''})`,
    async run(x, labels, u) {
      if (!session) throw new Error('ONNX pass used after dispose');
      const fx = x.buffer instanceof SharedArrayBuffer ? x.slice() : x; // onnxruntime-node refuses shared memory
      const feeds: Record<string, OrtTensor> = { x: new ort.Tensor('float32', fx, inputDims) };
      if (o.sampledLabels) feeds.u = new ort.Tensor('float32', Float32Array.from(u!), [B, 1]);
      else
        feeds.labels = new ort.Tensor(
          'int64',
          BigInt64Array.from(labels!, v => BigInt(v)),
          [B],
        );
      const fetches: Record<string, OrtTensor | null> = { loss: null, sums: null };
      if (o.sampledLabels) fetches.labels_out = null;
      for (const [layer, r] of rows) fetches[r.out] = new ort.Tensor('float32', r.data, [B, sizes.get(layer)!]); // written in place
      const res = await session.run(feeds, fetches);
      const drawn = res.labels_out?.data as BigInt64Array | undefined;
      const sums = res.sums.data as Float32Array;
      return {
        rows: new Map([...rows].map(([layer, r]) => [layer, r.data])),
        sums: new Map([...rows.keys()].map(layer => [layer, sums.subarray(order.get(layer)! * B, (order.get(layer)! + 1) * B)])),
        loss: res.loss.data as Float32Array,
        labels: drawn ? Int32Array.from(drawn, v => Number(v)) : undefined,
      };
    },
    async dispose() {
      const s = session;
      session = undefined;
      await s?.release();
    },
  };
}
