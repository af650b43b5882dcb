// Per-sample loss gradients of prunable kernels, in PyTorch order. Batched ("probe" trick) with a one-at-a-time fallback.
import { tf } from '../backend';
import { WoodFisherError, type PrunableLayer } from '../types';
import type { LoadedModel } from '../model/load';
import type { Dataset } from '../data/calibration';
import { torchPermutation } from '../model/layout';
import { mulberry32 } from '../data/random';
import { crossEntropy, probabilities, sampleLabels } from './loss';
import { patches, tapGeometry, padInput, tapSlice, type TapGeometry } from '../kernels/patches';

export interface GradientSet {
  n: number;
  grads: Map<string, Float32Array>;   // layer name → n×d row-major, torch order, d = layer.size
  labels: Int32Array;
  labelsSource: 'given' | 'sampled';
  meanLoss: number;
}

export interface GradientOptions {
  seed?: number;
  masks?: Map<string, Uint8Array>;    // torch order, 1 = pruned: those gradient entries are zeroed
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  batchSize?: number;
  mode?: 'auto' | 'batched' | 'reference';  // reference: one sample at a time through tf.grads (the test oracle)
}

const cancelled = () => new WoodFisherError('Cancelled', 'CANCELLED');
const tick = () => new Promise<void>(r => setImmediate(r));

/** How one layer turns (its input, ∂L/∂pre-activation) into per-sample kernel gradients [B, d] in torch order. */
interface Plan { layer: PrunableLayer; l: any; cfg: any; input?: tf.Tensor; probe?: tf.Tensor; }

function asPair(v: number | number[] | undefined, d = 1): [number, number] {
  if (v == null) return [d, d];
  return Array.isArray(v) ? [v[0], v[v.length > 1 ? 1 : 0]] : [v, v];
}

/** Why the batched path cannot handle this layer, or undefined when it can. */
function batchBlocker(l: any, kind: string): string | undefined {
  if ((l.inboundNodes?.length ?? 1) !== 1) return 'shared layer';
  const cfg = l.getConfig();
  if (cfg.dataFormat === 'channelsFirst') return 'channelsFirst';
  if (cfg.padding === 'causal') return 'causal padding';
  if (kind !== 'Dense' && !['same', 'valid'].includes(cfg.padding)) return 'padding';
  return undefined;
}

function convGeometry(p: Plan, x: tf.Tensor): TapGeometry {
  const c = p.cfg;
  if (p.layer.kind === 'Conv1D') {
    const [k] = p.layer.shape;
    return tapGeometry([x.shape[0], 1, x.shape[1], x.shape[2]] as number[], 1, k, [1, asPair(c.strides)[0]], [1, asPair(c.dilationRate)[0]], c.padding);
  }
  const [kh, kw] = p.layer.shape;
  // TF.js layers' DepthwiseConv2D.call passes no dilation to the op (unlike Keras): mirror what the model computes.
  const dil = p.layer.kind === 'DepthwiseConv2D' ? [1, 1] as [number, number] : asPair(c.dilationRate);
  return tapGeometry(x.shape as number[], kh, kw, asPair(c.strides), dil, c.padding);
}

/** Per-sample kernel gradients [B, d] (torch order) from the layer input x and delta = ∂ΣL/∂z. */
function kernelGrads(p: Plan, x: tf.Tensor, delta: tf.Tensor): tf.Tensor2D {
  const B = x.shape[0];
  switch (p.layer.kind) {
    case 'Dense': {
      const [inp, out] = p.layer.shape;
      if (x.rank === 2) return tf.mul(delta.reshape([B, out, 1]), x.reshape([B, 1, inp])).reshape([B, out * inp]); // g = δ ⊗ x
      return tf.matMul(delta.reshape([B, -1, out]), x.reshape([B, -1, inp]), true, false).reshape([B, out * inp]); // Σ_t δ_t ⊗ x_t
    }
    case 'Conv2D':
    case 'Conv1D': {
      const x4 = (p.layer.kind === 'Conv1D' ? x.reshape([B, 1, x.shape[1]!, x.shape[2]!]) : x) as tf.Tensor4D;
      const g = convGeometry(p, x);
      const co = p.layer.shape[p.layer.shape.length - 1], ci = g.inC, taps = g.kh * g.kw;
      const P = patches(x4, g);                                                   // [B, P, taps·ci]
      const d = delta.reshape([B, g.outH * g.outW, co]);
      return tf.matMul(d, P, true, false).reshape([B, co, taps, ci]).transpose([0, 1, 3, 2]).reshape([B, co * ci * taps]);
    }
    case 'DepthwiseConv2D': {
      const [kh, kw, c, m] = p.layer.shape;
      const g = convGeometry(p, x);
      const npos = g.outH * g.outW, taps = kh * kw;
      const xpad = padInput(x as tf.Tensor4D, g);
      const all: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) all.push(tapSlice(xpad, g, i, j).reshape([B, npos, c]));
      const X = tf.stack(all, 0).transpose([1, 3, 0, 2]).reshape([B * c, taps, npos]);     // [taps,B,P,C] → [B·C, taps, P]
      const d = delta.reshape([B, npos, c, m]).transpose([0, 2, 1, 3]).reshape([B * c, npos, m]);
      return tf.matMul(X, d).reshape([B, c, taps, m]).transpose([0, 1, 3, 2]).reshape([B, c * m * taps]);
    }
  }
}

let linearActivation: any;
function linear(): any {
  if (!linearActivation) linearActivation = (tf.layers.dense({ units: 1, activation: 'linear' }) as any).activation;
  return linearActivation;
}

/** Runs fn with each planned layer patched: its pre-activation output gets `probe` added and its input recorded. */
function withProbes<T>(plans: Plan[], fn: () => T): T {
  const saved = plans.map(p => ({ call: p.l.call, act: p.l.activation, own: Object.prototype.hasOwnProperty.call(p.l, 'call') }));
  plans.forEach((p, k) => {
    const orig = saved[k];
    p.l.activation = linear();
    p.l.call = (inputs: tf.Tensor | tf.Tensor[], kwargs: any) => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      p.input = tf.keep(x.clone());             // a separate reference: the gradient pass disposes what it saved
      const z = orig.call.call(p.l, inputs, kwargs) as tf.Tensor;
      const zp = p.probe ? tf.add(z, p.probe) : z;
      return orig.act ? orig.act.apply(zp) : zp;
    };
  });
  try {
    return fn();
  } finally {
    plans.forEach((p, k) => {
      p.l.activation = saved[k].act;
      if (saved[k].own) p.l.call = saved[k].call; else delete p.l.call;
    });
  }
}

interface BatchOut { rows: tf.Tensor2D[]; loss: number; labels: Int32Array }

function batchedStep(m: LoadedModel, plans: Plan[], xb: tf.Tensor, given: Int32Array | undefined, rand: () => number): BatchOut {
  const B = xb.shape[0];
  let labels = given;
  let lossSum = 0;
  const rows = withProbes(plans, () => tf.tidy(() => {
    const probes = plans.map(p => {
      const shape = (p.l.outputShape as (number | null)[]).map((d, i) => (i === 0 ? B : d)) as number[];
      return tf.zeros(shape);
    });
    const f = (...ps: tf.Tensor[]) => {
      plans.forEach((p, i) => { p.probe = ps[i]; });
      const out = m.model.apply(xb, { training: false }) as tf.Tensor;
      if (!labels) labels = sampleLabels(probabilities(out, m.outputIsProbability), m.numClasses, rand);
      return tf.sum(crossEntropy(out, tf.tensor1d(labels, 'int32'), m.outputIsProbability)) as tf.Scalar;  // Σ_n L_n: row n of ∂/∂probe is ∂L_n/∂z_n
    };
    const { value, grads } = tf.valueAndGrads(f)(probes);
    lossSum = value.dataSync()[0];
    return plans.map((p, i) => kernelGrads(p, p.input!, grads[i]));
  }));
  for (const p of plans) { p.input?.dispose(); p.input = undefined; p.probe = undefined; }
  return { rows, loss: lossSum, labels: labels! };
}

function referenceStep(m: LoadedModel, layers: PrunableLayer[], xb: tf.Tensor, given: Int32Array | undefined, rand: () => number): BatchOut {
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
    const { value, grads } = tf.valueAndGrads((..._v: tf.Tensor[]) =>
      tf.sum(crossEntropy(m.model.apply(xn, { training: false }) as tf.Tensor, tf.tensor1d([yy], 'int32'), m.outputIsProbability)) as tf.Scalar)(vars);
    loss += value.dataSync()[0];
    value.dispose(); xn.dispose();
    grads.forEach((g, i) => per[i].push(g));
  }
  const rows = layers.map((l, i) => {
    // TF.js order → torch order by one gather over the flattened kernel.
    const perm = tf.tensor1d(torchPermutation(l.kind, l.shape), 'int32');
    const r = tf.tidy(() => tf.gather(tf.stack(per[i].map(g => g.reshape([-1]))), perm, 1) as tf.Tensor2D);
    tf.dispose([perm, ...per[i]]);
    return r;
  });
  return { rows, loss, labels };
}

/** Copies a float32 tensor into target at offset; on wasm straight from the heap (one copy instead of two). */
function readInto(t: tf.Tensor, target: Float32Array, offset: number): void {
  const b = tf.backend() as any;
  if (tf.getBackend() === 'wasm' && typeof b.typedArrayFromHeap === 'function') {
    target.set(b.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as Float32Array, offset);
  } else {
    target.set(t.dataSync() as Float32Array, offset);
  }
}

/** Per-sample gradients of the cross-entropy w.r.t. each layer's kernel, one row per calibration sample. */
export async function perSampleGradients(m: LoadedModel, layers: PrunableLayer[], data: Dataset, opts: GradientOptions = {}): Promise<GradientSet> {
  const n = data.count;
  const per = data.shape.slice(1);
  const perSize = per.reduce((a, b) => a * b, 1);
  if (data.labels && data.labels.length !== n) throw new WoodFisherError(`Dataset has ${data.labels.length} labels for ${n} samples.`, 'LABELS');
  const rand = mulberry32((opts.seed ?? 0) ^ 0x5eed);
  const grads = new Map<string, Float32Array>(layers.map(l => [l.name, new Float32Array(n * l.size)]));
  const allLabels = new Int32Array(n);
  const plans: Plan[] = layers.map(layer => { const l = m.model.getLayer(layer.name); return { layer, l, cfg: l.getConfig() }; });
  const blocked = plans.map(p => batchBlocker(p.l, p.layer.kind)).find(Boolean);
  const batched = opts.mode === 'reference' ? false : !blocked;
  if (opts.mode === 'batched' && blocked) throw new WoodFisherError(`Batched gradients are not possible here (${blocked}).`, 'OPTIONS');
  // Batch size: keep the per-batch gradient rows (and conv patches) around 64 MB.
  const floatsPerSample = layers.reduce((a, l) => a + 2 * l.size, 0) + perSize * 9;
  const auto = Math.max(1, Math.min(512, Math.floor(16e6 / floatsPerSample)));
  const bs = Math.max(1, Math.min(n, opts.batchSize ?? (batched ? auto : Math.min(auto, 16))));   // one-at-a-time: small batches keep cancel prompt
  let lossSum = 0;
  for (let start = 0; start < n; start += bs) {
    if (opts.signal?.aborted) throw cancelled();
    const b = Math.min(bs, n - start);
    const xb = tf.tensor(data.x.subarray(start * perSize, (start + b) * perSize), [b, ...per]);
    const given = data.labels?.subarray(start, start + b);
    let out: BatchOut;
    try {
      out = batched ? batchedStep(m, plans, xb, given, rand) : referenceStep(m, layers, xb, given, rand);
    } finally {
      xb.dispose();
    }
    lossSum += out.loss;
    allLabels.set(out.labels, start);
    try {
      layers.forEach((l, i) => {
        const finite = tf.tidy(() => tf.sum(out.rows[i]).dataSync()[0]);   // NaN/Inf anywhere makes the sum non-finite
        const target = grads.get(l.name)!;
        readInto(out.rows[i], target, start * l.size);
        if (!Number.isFinite(finite)) {
          const v = target.subarray(start * l.size, (start + b) * l.size);
          const k = v.findIndex(e => !Number.isFinite(e));
          if (k >= 0) throw new WoodFisherError(`Gradient of layer '${l.name}' is ${Number.isNaN(v[k]) ? 'NaN' : 'infinite'} (sample ${start + Math.floor(k / l.size)}); check the inputs' scale and the model's weights.`, 'NUMERIC');
        }
      });
    } finally {
      tf.dispose(out.rows);
    }
    opts.onProgress?.(start + b, n);
    await tick();
  }
  if (opts.masks) {
    for (const l of layers) {
      const mask = opts.masks.get(l.name);
      if (!mask) continue;
      if (mask.length !== l.size) throw new WoodFisherError(`Mask of layer '${l.name}' has ${mask.length} entries, expected ${l.size}.`, 'OPTIONS');
      const g = grads.get(l.name)!;
      for (let r = 0; r < n; r++) { const o = r * l.size; for (let k = 0; k < l.size; k++) if (mask[k]) g[o + k] = 0; }
    }
  }
  return { n, grads, labels: allLabels, labelsSource: data.labels ? 'given' : 'sampled', meanLoss: lossSum / n };
}
