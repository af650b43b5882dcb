// Per-sample loss gradients of prunable kernels, in PyTorch order: one batched forward and backward pass per batch
// (backward.ts), the per-sample contractions on the fastest product provider; tf.grads one sample at a time is the oracle.
import { tf } from '../backend';
import { WoodFisherError, type PrunableLayer } from '../types';
import type { LoadedModel } from '../model/load';
import type { Dataset } from '../data/calibration';
import { torchPermutation } from '../model/layout';
import { mulberry32 } from '../data/random';
import { crossEntropy, probabilities, sampleLabels } from './loss';
import { forwardBackward, graphSteps, layerGeometry, retainedFloats, type GraphStep } from './backward';
import { writeKernelGrads, hostData } from './kernelGrads';
import { batchedTN, onnxRuntimeUnavailable, populate, type BatchedTN } from '../linalg/accel';
import { prefault } from '../linalg/prefault';
import { RowArena } from '../linalg/rowArena';
import { onnxPass, type OnnxPass } from './onnxPass';
import { passGraph } from './onnxGraph';

export interface GradientSet {
  n: number;
  grads: Map<string, Float32Array>; // layer name → n×d row-major, torch order, d = layer.size
  labels: Int32Array;
  labelsSource: 'given' | 'sampled';
  meanLoss: number;
  /** Where the forward and backward pass ran: 'onnxruntime (2 threads)', or TF.js' backend and why not onnxruntime. */
  pass: string;
}

export interface GradientOptions {
  seed?: number;
  masks?: Map<string, Uint8Array>; // torch order, 1 = pruned: those gradient entries are zeroed
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  batchSize?: number;
  mode?: 'auto' | 'batched' | 'reference'; // reference: one sample at a time through tf.grads (the test oracle)
  contractions?: 'auto' | 'tfjs'; // tfjs: per-sample conv/dense products on the TF.js backend even when onnxruntime loads
  /** The batched pass on ONNX Runtime (onnxGraph.ts) where it loads and knows every layer ('auto'), always
   *  ('onnxruntime': else an error), or on TF.js' backend ('tfjs'). contractions: 'tfjs' implies 'tfjs'. */
  pass?: 'auto' | 'onnxruntime' | 'tfjs';
  /** Rows of these layers only (a group of a streamed step): the pass and its batches are those of all `layers` (the
   *  same numbers); the TF.js pass stops its backward pass below the group's lowest layer, the ONNX Runtime pass runs
   *  its one graph and fetches the group's rows. */
  only?: ReadonlySet<string>;
  /** Where the rows go, instead of new memory: streamed groups reuse one arena, so a dropped group's gradients never
   *  wait for the garbage collector beside the next group's. */
  into?: RowArena;
  /** Filled with seconds spent per stage ('pass' = forward and backward, 'rows <kind>' = per-sample contractions). */
  timings?: Record<string, number>;
}

/** Float32 bytes one batch of the batched pass holds at its peak: the forward values kept for the backward pass,
 *  their gradients (about as many again), and the batch's gradient rows on the TF.js heap. */
export function gradientBatchBytes(m: LoadedModel, layers: PrunableLayer[], batch: number): number {
  const kept = retainedFloats(graphSteps(m.model, new Map(layers.map(l => [l.name, l.kind]))));
  return 4 * batch * (2 * kept + layers.reduce((a, l) => a + l.size, 0));
}

// MobileNetV2-224 (80 MiB a sample): batches of 4 / 8 / 16 took 0.40 / 0.34 / 0.30 CPU s a sample at 0.6 / 0.7 / 1.3 GiB
// peak RSS (docs/performance.md); 640 MiB gives 8.
const BATCH_BYTES = 640 * 2 ** 20;

/** Samples per batched pass: the largest batch whose working memory stays within BATCH_BYTES. */
export function gradientBatchSize(m: LoadedModel, layers: PrunableLayer[]): number {
  const one = gradientBatchBytes(m, layers, 1);
  return Math.max(1, Math.min(512, Math.floor(BATCH_BYTES / one)));
}

/** ONNX Runtime's arena a sample: ~2.4 × the values TF.js keeps (bench r: 90 MB a sample of MobileNetV2-224 against
 *  TF.js' 57), and its rows. */
function onnxSampleBytes(m: LoadedModel, layers: PrunableLayer[]): number {
  const kept = retainedFloats(graphSteps(m.model, new Map(layers.map(l => [l.name, l.kind]))));
  return 4 * (2.4 * kept + layers.reduce((a, l) => a + l.size, 0));
}

// Smaller batches than the TF.js pass's run faster on ONNX Runtime: fewer fresh pages a call and more of a batch in
// cache (MobileNetV2-224, N = 32, one process, medians of 4: batch 1 / 2 / 3 / 4 at 13.7 / 16.4 / 14.3 / 13.9
// samples/s; docs/performance.md). 200 MiB gives 2 there, 1 for the Inception-like model (1 and 2 alike).
const ONNX_BATCH_BYTES = 200 * 2 ** 20;

/** Samples per run of the ONNX Runtime pass (before batches are made equal): at most the TF.js pass's batch. */
export function onnxBatchSize(m: LoadedModel, layers: PrunableLayer[]): number {
  return Math.max(1, Math.min(gradientBatchSize(m, layers), Math.floor(ONNX_BATCH_BYTES / onnxSampleBytes(m, layers))));
}

/** Working memory of the batched pass over n samples (the batch it will use), or undefined when the pass cannot walk
 *  the model's graph (it then goes one sample at a time through tf.grads). On ONNX Runtime (onnxPassUnavailable):
 *  its arena and rows (onnxSampleBytes) a sample of its batch, plus the runtime and the session's copies of the weights
 *  (serialised graph, initializers, prepacked kernels). */
export function gradientPassBytes(m: LoadedModel, layers: PrunableLayer[], n: number): number | undefined {
  try {
    if (onnxPassUnavailable(m, layers)) return gradientBatchBytes(m, layers, Math.max(1, Math.min(n, gradientBatchSize(m, layers))));
    const weights = m.model.weights.reduce((a, w) => a + 4 * w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
    return Math.max(1, Math.min(n, onnxBatchSize(m, layers))) * onnxSampleBytes(m, layers) + ORT_FIXED_BYTES + 6 * weights;
  } catch (e) {
    if (e instanceof WoodFisherError && e.code === 'UNSUPPORTED_LAYER') return undefined;
    throw e;
  }
}

const ORT_FIXED_BYTES = 64 * 2 ** 20; // onnxruntime's library and session (measured: ~160 MB fixed with 14 MB of weights)

/** Models without convolutions keep the TF.js pass by default: there its per-call costs (graph, session, fresh
 *  pages) outweigh the kernels (MLPNet, N = 1000: 1.1 s on ONNX Runtime against 0.4 s). */
function denseOnlyReason(steps: GraphStep[]): string | undefined {
  if (steps.some(s => s.cls === 'Conv2D' || s.cls === 'DepthwiseConv2D')) return undefined;
  return 'no convolutions: the TF.js pass is faster for dense models';
}

const passSupport = new WeakMap<tf.LayersModel, string | undefined>();
/** Why perSampleGradients will not run this model's batched pass on ONNX Runtime by default (onnxruntime-node does
 *  not load, or a layer has no rule in onnxGraph.ts), or undefined when it will. */
export function onnxPassUnavailable(m: LoadedModel, layers: PrunableLayer[]): string | undefined {
  const why = onnxRuntimeUnavailable();
  if (why) return why;
  if (!passSupport.has(m.model)) {
    const steps = graphSteps(m.model, new Map(layers.map(l => [l.name, l.kind])));
    const dense = denseOnlyReason(steps);
    if (dense) {
      passSupport.set(m.model, dense);
      return dense;
    }
    const g = passGraph(m.model, steps, layers, {
      batch: 1,
      wanted: new Set(layers.map(l => l.name)),
      sampledLabels: false,
      outputIsProbability: m.outputIsProbability,
    });
    passSupport.set(m.model, typeof g === 'string' ? g : undefined);
  }
  return passSupport.get(m.model);
}

const cancelled = () => new WoodFisherError('Cancelled', 'CANCELLED');
const tick = () => new Promise<void>(r => setImmediate(r));

interface BatchOut {
  loss: number;
  labels: Int32Array;
  sums?: number[];
} // sums: of each layer's rows (NaN/Inf propagate)

/** One forward and backward pass of the batch (gradients.ts's graph walk); each prunable call's per-sample kernel
 *  gradients go straight into the targets at row `row` (summed over the calls of a shared layer). */
async function batchedStep(
  m: LoadedModel,
  layers: PrunableLayer[],
  steps: GraphStep[],
  xb: tf.Tensor,
  given: Int32Array | undefined,
  rand: () => number,
  targets: (Float32Array | undefined)[],
  row: number,
  fast: BatchedTN | undefined,
  timings?: Record<string, number>,
): Promise<BatchOut> {
  let labels = given;
  let lossSum = 0;
  const index = new Map(layers.map((l, i) => [l.name, i]));
  const written = new Set<number>();
  const sums = layers.map(() => 0);
  const t0 = performance.now();
  let rowSeconds = 0;
  await forwardBackward(
    m.model,
    steps,
    xb,
    out =>
      tf.tidy(() => {
        if (!labels) labels = sampleLabels(probabilities(out, m.outputIsProbability), m.numClasses, rand);
        const y = tf.tensor1d(labels, 'int32');
        // Σ_n L_n: row n of its gradient is ∂L_n/∂out_n (samples do not interact in inference mode)
        const { value, grad } = tf.valueAndGrad((o: tf.Tensor) => tf.sum(crossEntropy(o, y, m.outputIsProbability)) as tf.Scalar)(out);
        lossSum = value.dataSync()[0];
        return grad;
      }),
    async (step, x, delta) => {
      const i = index.get(step.layer.name)!;
      const l = layers[i];
      const t = performance.now();
      sums[i] += await writeKernelGrads(
        l.kind,
        l.shape,
        x,
        delta,
        l.kind === 'Dense' ? undefined : layerGeometry(l.kind, step.layer, x),
        targets[i]!,
        row,
        written.has(i),
        fast,
      );
      written.add(i);
      if (timings) {
        const k = `rows ${l.kind}`;
        timings[k] = (timings[k] ?? 0) + (performance.now() - t) / 1000;
        rowSeconds += (performance.now() - t) / 1000;
      }
    },
    step => targets[index.get(step.layer.name)!] !== undefined,
  );
  if (timings) timings.pass = (timings.pass ?? 0) + (performance.now() - t0) / 1000 - rowSeconds;
  const B = xb.shape[0];
  // a prunable layer the loss does not reach has zero gradient
  layers.forEach((l, i) => {
    if (!written.has(i)) targets[i]?.fill(0, row * l.size, (row + B) * l.size);
  });
  return { loss: lossSum, labels: labels!, sums };
}

/** batchedStep on ONNX Runtime: the same rows, loss and labels from one session run; a short batch is padded to
 *  the session's size (its extra rows are not read). */
async function onnxStep(
  pass: OnnxPass,
  size: number,
  layers: PrunableLayer[],
  x: Float32Array,
  b: number,
  given: Int32Array | undefined,
  rand: () => number,
  targets: (Float32Array | undefined)[],
  row: number,
  timings?: Record<string, number>,
): Promise<BatchOut> {
  const t0 = performance.now();
  const per = x.length / b;
  const xb = b === size ? x : new Float32Array(size * per);
  if (xb !== x) xb.set(x);
  const padded = <T extends Int32Array | Float32Array>(v: T, make: (n: number) => T): T => {
    const out = make(size);
    out.set(v);
    return out;
  };
  const u = given
    ? undefined
    : padded(
        Float32Array.from({ length: b }, () => rand()),
        k => new Float32Array(k),
      ); // one draw a sample, as sampleLabels
  const out = await pass.run(xb, given && padded(given, k => new Int32Array(k)), u);
  const t1 = performance.now();
  const sums = layers.map((l, i) => {
    const r = out.rows.get(l.name);
    if (!r || !targets[i]) return 0;
    targets[i]!.set(r.subarray(0, b * l.size), row * l.size);
    const s = out.sums.get(l.name)!;
    let sum = 0;
    for (let k = 0; k < b; k++) sum += s[k];
    return sum;
  });
  if (timings) {
    timings.pass = (timings.pass ?? 0) + (t1 - t0) / 1000;
    timings['rows copy'] = (timings['rows copy'] ?? 0) + (performance.now() - t1) / 1000;
  }
  let loss = 0;
  for (let n = 0; n < b; n++) loss += out.loss[n];
  return { loss, labels: given ?? out.labels!.slice(0, b), sums };
}

function referenceStep(
  m: LoadedModel,
  layers: PrunableLayer[],
  xb: tf.Tensor,
  given: Int32Array | undefined,
  rand: () => number,
  targets: Float32Array[],
  row: number,
): BatchOut {
  const vars = layers.map(l => (m.model.getLayer(l.name).weights[0] as any).val as tf.Variable);
  const B = xb.shape[0];
  const labels = new Int32Array(B);
  const per: tf.Tensor[][] = layers.map(() => []);
  let loss = 0;
  for (let n = 0; n < B; n++) {
    const xn = tf.tidy(() => xb.slice(n, 1));
    let y = given?.[n];
    if (y === undefined) {
      const p = tf.tidy(() => probabilities(m.model.predict(xn) as tf.Tensor, m.outputIsProbability));
      y = sampleLabels(p, m.numClasses, rand)[0];
    }
    labels[n] = y;
    const yy = y;
    const { value, grads } = tf.valueAndGrads(
      (..._v: tf.Tensor[]) =>
        tf.sum(
          crossEntropy(m.model.apply(xn, { training: false }) as tf.Tensor, tf.tensor1d([yy], 'int32'), m.outputIsProbability),
        ) as tf.Scalar,
    )(vars);
    loss += value.dataSync()[0];
    value.dispose();
    xn.dispose();
    grads.forEach((g, i) => per[i].push(g));
  }
  layers.forEach((l, i) => {
    // TF.js order → torch order by one gather over the flattened kernel.
    const perm = tf.tensor1d(torchPermutation(l.kind, l.shape), 'int32');
    const r = tf.tidy(() => tf.gather(tf.stack(per[i].map(g => g.reshape([-1]))), perm, 1) as tf.Tensor2D);
    tf.dispose([perm, ...per[i]]);
    try {
      targets[i].set(hostData(r), row * l.size);
    } finally {
      r.dispose();
    }
  });
  return { loss, labels };
}

/** Per-sample gradients of the cross-entropy w.r.t. each layer's kernel, one row per calibration sample. */
export async function perSampleGradients(
  m: LoadedModel,
  layers: PrunableLayer[],
  data: Dataset,
  opts: GradientOptions = {},
): Promise<GradientSet> {
  const n = data.count;
  const per = data.shape.slice(1);
  const perSize = per.reduce((a, b) => a * b, 1);
  if (data.labels && data.labels.length !== n)
    throw new WoodFisherError(`Dataset has ${data.labels.length} labels for ${n} samples.`, 'LABELS');
  const rand = mulberry32((opts.seed ?? 0) ^ 0x5eed);
  const collected = (l: PrunableLayer) => !opts.only || opts.only.has(l.name);
  // the rows in shared memory (the Fisher block threads read them in place), large chunks rather than a buffer a
  // layer: a fresh mapping each, where small buffers could come from reused heap that calloc must clear
  const rowsOf = layers.filter(collected);
  const views = (opts.into ?? new RowArena()).views(rowsOf.map(l => n * l.size));
  const grads = new Map<string, Float32Array>(rowsOf.map((l, i) => [l.name, views[i]]));
  const allLabels = new Int32Array(n);
  let steps: GraphStep[] = [];
  let batched = opts.mode !== 'reference';
  if (batched) {
    try {
      steps = graphSteps(m.model, new Map(layers.map(l => [l.name, l.kind])));
    } catch (e) {
      // what the pass cannot walk (masks, channelsFirst convs) may still go through tf.grads one sample at a time
      if (opts.mode === 'batched' || !(e instanceof WoodFisherError && e.code === 'UNSUPPORTED_LAYER')) throw e;
      batched = false;
    }
  }
  let bs = Math.max(1, Math.min(n, opts.batchSize ?? (batched ? gradientBatchSize(m, layers) : 16))); // one-at-a-time: small batches keep cancel prompt
  let onnx: OnnxPass | undefined;
  let passName = batched ? `TF.js ${tf.getBackend()}` : `TF.js ${tf.getBackend()}, one sample at a time`;
  const wantOnnx = opts.pass ?? (opts.contractions === 'tfjs' ? 'tfjs' : 'auto');
  const denseOnly = wantOnnx === 'auto' && batched ? denseOnlyReason(steps) : undefined;
  if (denseOnly) passName = `${passName} (not onnxruntime: ${denseOnly})`;
  const targets = layers.map(l => grads.get(l.name));
  let lossSum = 0;
  const onOnnx = batched && wantOnnx !== 'tfjs' && !denseOnly;
  // one session, one batch size: the last batch is padded; by default batches are made equal, ⌈n / ⌈n / bs⌉⌉, so
  // that the padding is less than one sample a batch
  if (onOnnx && opts.batchSize === undefined) bs = Math.ceil(n / Math.ceil(n / Math.min(bs, onnxBatchSize(m, layers))));
  // the arena's pages mapped on another core, batch by batch as they will be written, while this one builds the pass
  // and runs it (linalg/prefault.ts); else at once, here
  const order: Float32Array[] = [];
  for (let start = 0; start < n; start += bs)
    for (const g of grads.values()) order.push(g.subarray((start * g.length) / n, (Math.min(n, start + bs) * g.length) / n));
  const faults = prefault(order);
  if (!faults && !opts.into) views.forEach(v => populate(v));
  try {
    if (onOnnx) {
      // every layer's rows in the graph, a group's fetched: one graph whatever the group, so a streamed group's rows are
      // the whole pass's bit for bit (graphs that differ get different fusions from ONNX Runtime's optimizer)
      const wanted = new Set(layers.map(l => l.name));
      const t0 = performance.now();
      const p = await onnxPass(
        m.model,
        steps,
        layers,
        {
          batch: bs,
          wanted,
          sampledLabels: !data.labels,
          outputIsProbability: m.outputIsProbability,
        },
        new Set(layers.filter(collected).map(l => l.name)),
      );
      if (opts.timings) opts.timings['pass build'] = (performance.now() - t0) / 1000;
      if (typeof p !== 'string') onnx = p;
      else if (wantOnnx === 'onnxruntime')
        throw new WoodFisherError(`The gradient pass cannot run on ONNX Runtime: ${p}.`, 'UNSUPPORTED_LAYER');
      passName = onnx ? onnx.name : `${passName} (not onnxruntime: ${p})`;
    }
    const fast = batched && !onnx && opts.contractions !== 'tfjs' ? await batchedTN() : undefined;
    for (let start = 0; start < n; start += bs) {
      if (opts.signal?.aborted) throw cancelled();
      const b = Math.min(bs, n - start);
      const given = data.labels?.subarray(start, start + b);
      if (onnx) {
        const out = await onnxStep(
          onnx,
          bs,
          layers,
          data.x.subarray(start * perSize, (start + b) * perSize),
          b,
          given,
          rand,
          targets,
          start,
          opts.timings,
        );
        await finish(out, start, b);
        continue;
      }
      const xb = tf.tensor(data.x.subarray(start * perSize, (start + b) * perSize), [b, ...per]);
      let out: BatchOut;
      try {
        out = batched
          ? await batchedStep(m, layers, steps, xb, given, rand, targets, start, fast, opts.timings)
          : referenceStep(
              m,
              layers.filter(collected),
              xb,
              given,
              rand,
              targets.filter(t => t !== undefined),
              start,
            );
      } finally {
        xb.dispose();
      }
      await finish(out, start, b);
    }
  } finally {
    await onnx?.dispose();
    await faults?.stop();
  }
  async function finish(out: BatchOut, start: number, b: number) {
    lossSum += out.loss;
    allLabels.set(out.labels, start);
    layers.forEach((l, i) => {
      if (!targets[i]) return;
      const v = targets[i].subarray(start * l.size, (start + b) * l.size);
      let sum = out.sums?.[i];
      if (sum === undefined) {
        sum = 0;
        for (let k = 0; k < v.length; k++) sum += v[k];
      } // NaN/Inf anywhere makes the sum non-finite
      if (!Number.isFinite(sum)) {
        const k = v.findIndex(e => !Number.isFinite(e));
        if (k >= 0)
          throw new WoodFisherError(
            `Gradient of layer '${l.name}' is ${Number.isNaN(v[k]) ? 'NaN' : 'infinite'} (sample ${start + Math.floor(k / l.size)}); check the inputs' scale and the model's weights.`,
            'NUMERIC',
          );
      }
    });
    opts.onProgress?.(start + b, n);
    await tick();
  }
  if (opts.masks) {
    for (const l of layers.filter(collected)) {
      const mask = opts.masks.get(l.name);
      if (!mask) continue;
      if (mask.length !== l.size)
        throw new WoodFisherError(`Mask of layer '${l.name}' has ${mask.length} entries, expected ${l.size}.`, 'OPTIONS');
      const g = grads.get(l.name)!;
      for (let r = 0; r < n; r++) {
        const o = r * l.size;
        for (let k = 0; k < l.size; k++) if (mask[k]) g[o + k] = 0;
      }
    }
  }
  return { n, grads, labels: allLabels, labelsSource: data.labels ? 'given' : 'sampled', meanLoss: lossSum / n, pass: passName };
}
