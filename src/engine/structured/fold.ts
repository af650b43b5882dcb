// A unit whose incoming weights are zero still outputs a constant, act(b); removing it would drop that constant.
// Before shrinking, the constant is carried forward to every consumer's bias where the path keeps it a constant:
// through activations, BatchNormalization, pooling, dropout, Flatten, Concatenate, Add and 'valid' depthwise
// convolutions, into a Dense or a 1×1 / 'valid' convolution with a bias. Elsewhere (zero padding, a consumer without
// a bias) it is dropped, as every structured pruner does, and counted.
import { tf } from '../backend';
import { ACTIVATIONS, CHANNEL_PRESERVING, type ChannelGraph } from './graph';

const IDENTITY = new Set([...CHANNEL_PRESERVING, 'Flatten', 'Concatenate']);
const ELEMENTWISE_FN = new Set(ACTIVATIONS);

/** Applies a channel-wise TF.js function to a few numbers, as a [1, …, 1, n] tensor of the given rank. */
function elementwise(f: (x: tf.Tensor) => tf.Tensor, v: number[], rank = 2): number[] {
  return tf.tidy(() => Array.from(f(tf.tensor(v, [...new Array(rank - 1).fill(1), v.length])).dataSync()));
}

/** The BatchNormalization (channels last) that alone reads a linear layer's output, if any. */
function followingBatchNorm(layer: tf.layers.Layer, cfg: any): tf.layers.Layer | undefined {
  if (cfg.activation !== undefined && cfg.activation !== 'linear') return undefined;
  const out = layer.outboundNodes ?? [];
  if (out.length !== 1) return undefined;
  const bn = out[0].outboundLayer as tf.layers.Layer;
  const bcfg: any = bn.getConfig();
  const axis = Array.isArray(bcfg.axis) ? bcfg.axis : [bcfg.axis];
  const rank = (bn.outputShape as number[]).length;
  return bn.getClassName() === 'BatchNormalization' &&
    axis.length === 1 &&
    (axis[0] === -1 || axis[0] === rank - 1) &&
    bn.weights.some(w => /moving_mean/.test(w.name))
    ? bn
    : undefined;
}

/** weights[i] += sign·delta (in place). */
function addTo(layer: tf.layers.Layer, i: number, delta: Float32Array, sign: number): void {
  const ws = layer.getWeights();
  const v = Float32Array.from(ws[i].dataSync());
  for (let o = 0; o < v.length; o++) v[o] += sign * delta[o];
  const t = tf.tensor(v, ws[i].shape);
  ws[i] = t;
  layer.setWeights(ws);
  t.dispose();
}

export interface FoldResult {
  folded: number;
  dropped: number;
}

/** Adds the removed units' constant outputs into their consumers' biases (in place). removed[c] = 1: class c goes. */
export function foldRemovedUnits(model: tf.LayersModel, g: ChannelGraph, removed: Uint8Array): FoldResult {
  const isRemoved = (id: number) => {
    const c = g.classOf(id);
    return c >= 0 && removed[c] === 1;
  };
  const values = new Map<string, Map<number, number>>(); // layer output: channel id → constant value
  let folded = 0,
    dropped = 0;
  const lost = (m: Map<number, number> | undefined) => {
    dropped += m?.size ?? 0;
  };
  for (const name of g.order) {
    const l = g.layers.get(name)!,
      layer = model.getLayer(name),
      cls = layer.getClassName(),
      cfg: any = layer.getConfig();
    const inbound = ((layer.inboundNodes?.[0]?.inboundLayers ?? []) as tf.layers.Layer[]).map(x => values.get(x.name));
    const incoming = new Map<number, number>();
    for (const m of inbound) if (m) for (const [id, v] of m) incoming.set(id, v);
    let out: Map<number, number> | undefined;
    if (l.role === 'producer') {
      if (incoming.size) {
        const k = layer.weights[0].shape as number[],
          taps = k.slice(0, -2).reduce((a, b) => a * b, 1);
        const constantOut = cls === 'Dense' || cfg.padding === 'valid' || taps === 1; // a constant input gives a constant output
        const next = followingBatchNorm(layer, cfg);
        if (!constantOut || (layer.weights.length < 2 && !next)) lost(incoming);
        else {
          const K = layer.getWeights()[0].dataSync(),
            nIn = k[k.length - 2],
            nOut = k[k.length - 1];
          const delta = new Float32Array(nOut); // Σ_taps W[t, pos, o]·v
          l.inIds!.forEach((id, pos) => {
            const v = incoming.get(id);
            if (v === undefined || v === 0) return;
            for (let t = 0; t < taps; t++) for (let o = 0; o < nOut; o++) delta[o] += v * K[(t * nIn + pos) * nOut + o];
          });
          folded += incoming.size;
          if (layer.weights.length > 1)
            addTo(layer, 1, delta, 1); // b += Δ
          else
            addTo(
              next!,
              next!.weights.findIndex(w => /moving_mean/.test(w.name)),
              delta,
              -1,
            ); // BN(x + Δ): μ −= Δ
        }
      }
      // this layer's own removed units: act(b) (b = 0 without a bias)
      const units: number[] = [];
      l.outIds.forEach((id, u) => {
        if (isRemoved(id)) units.push(u);
      });
      if (units.length) {
        const b = layer.weights.length > 1 ? layer.getWeights()[1].dataSync() : undefined;
        const act = (layer as any).activation as { apply: (x: tf.Tensor) => tf.Tensor } | undefined;
        const pre = units.map(u => (b ? b[u] : 0));
        const post = act ? elementwise(x => act.apply(x), pre) : pre;
        out = new Map(units.map((u, i) => [l.outIds[u], post[i]]));
      }
    } else if (!incoming.size) out = undefined;
    else if (IDENTITY.has(cls)) out = incoming;
    else if (ELEMENTWISE_FN.has(cls)) {
      const ids = [...incoming.keys()],
        v = elementwise(
          x => layer.apply(x) as tf.Tensor,
          ids.map(id => incoming.get(id)!),
        );
      out = new Map(ids.map((id, i) => [id, v[i]]));
    } else if (cls === 'BatchNormalization') {
      const x = Array.from(l.outIds, id => incoming.get(id) ?? 0);
      const y = elementwise(t => layer.apply(t) as tf.Tensor, x, (layer.outputShape as number[]).length);
      out = new Map([...incoming.keys()].map(id => [id, y[l.outIds.indexOf(id)]]));
    } else if (cls === 'DepthwiseConv2D' && cfg.padding === 'valid') {
      const [kernel, bias] = layer.getWeights(),
        K = kernel.dataSync(),
        b = bias?.dataSync();
      const [kh, kw, C] = kernel.shape as number[];
      out = new Map();
      for (const [id, v] of incoming) {
        const ch = l.outIds.indexOf(id);
        let s = 0;
        for (let t = 0; t < kh * kw; t++) s += K[t * C + ch];
        out.set(id, v * s + (b ? b[ch] : 0));
      }
    } else if (cls === 'Add' && l.role === 'passthrough') {
      // tied ids share a class, all removed: the sum of the inputs' constants where every input has one
      const ins = (layer.inboundNodes[0].inboundLayers as tf.layers.Layer[]).map(x => g.layers.get(x.name)!.outIds);
      out = new Map();
      l.outIds.forEach((id, k) => {
        const vs = ins.map((ids, i) => inbound[i]?.get(ids[k]));
        if (vs.every(v => v !== undefined))
          out!.set(
            id,
            vs.reduce((a, v) => a + v!, 0),
          );
        else if (vs.some(v => v !== undefined)) dropped++;
      });
    } else {
      lost(incoming);
      out = undefined;
    }
    if (out && out.size) values.set(name, out);
  }
  return { folded, dropped };
}
