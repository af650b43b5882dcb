// What a model costs: multiply-accumulates per sample, and measured TF.js inference latency.
// MACs count the weighted layers (Dense, Conv1D/2D, DepthwiseConv2D); FLOPs = 2·MACs.
import { tf } from '../backend';
import type { ChannelGraph } from './graph';
import { PRUNABLE_KINDS } from '../types';

interface LayerGeometry {
  name: string;
  role: 'producer' | 'member';
  perChannel: number;
  inIds?: Int32Array;
  outIds: Int32Array;
}

/** MACs of a weighted layer = perChannel · in · out (producers) or perChannel · channels (depthwise). */
function geometry(model: tf.LayersModel, g: ChannelGraph): LayerGeometry[] {
  const out: LayerGeometry[] = [];
  for (const name of g.order) {
    const l = g.layers.get(name)!,
      layer = model.getLayer(name),
      cls = layer.getClassName();
    if (!(PRUNABLE_KINDS as readonly string[]).includes(cls) || layer.weights.length === 0) continue;
    const shape = (layer.outputShape as number[]).slice(1, -1).map(d => d ?? 1);
    const positions = shape.reduce((a, b) => a * b, 1); // Dense on [B, …, C]: once per leading position
    const k = layer.weights[0].shape as number[];
    const taps = cls === 'Dense' ? 1 : k.slice(0, k.length - 2).reduce((a, b) => a * b, 1);
    if (l.role === 'producer') out.push({ name, role: 'producer', perChannel: positions * taps, inIds: l.inIds, outIds: l.outIds });
    else if (l.role === 'member') out.push({ name, role: 'member', perChannel: positions * taps, outIds: l.outIds });
    else {
      // a weighted layer the graph treats as a barrier (e.g. depthwise with multiplier > 1): fixed cost
      const c = k.reduce((a, b) => a * b, 1);
      out.push({
        name,
        role: 'member',
        perChannel: (positions * c) / Math.max(1, (layer.outputShape as number[]).at(-1) ?? 1),
        outIds: l.outIds,
      });
    }
  }
  return out;
}

/**
 * Counts MACs as unit classes are removed one by one: kept input/output channels per layer are updated in O(layers
 * touched) per class, the total in O(weighted layers).
 */
export class MacCounter {
  private readonly geo: LayerGeometry[];
  private readonly keptIn: number[];
  private readonly keptOut: number[];
  private readonly touches: { layer: number; inputs: number; outputs: number }[][]; // per class

  constructor(model: tf.LayersModel, g: ChannelGraph) {
    this.geo = geometry(model, g);
    this.keptIn = this.geo.map(l => l.inIds?.length ?? 0);
    this.keptOut = this.geo.map(l => l.outIds.length);
    this.touches = g.classes.map(() => []);
    this.geo.forEach((l, li) => {
      const count = (ids: Int32Array | undefined, key: 'inputs' | 'outputs') => {
        const per = new Map<number, number>();
        if (ids)
          for (const id of ids) {
            const c = g.classOf(id);
            if (c >= 0) per.set(c, (per.get(c) ?? 0) + 1);
          }
        for (const [c, n] of per) {
          let t = this.touches[c].find(x => x.layer === li);
          if (!t) {
            t = { layer: li, inputs: 0, outputs: 0 };
            this.touches[c].push(t);
          }
          t[key] += n;
        }
      };
      if (l.role === 'producer') count(l.inIds, 'inputs');
      if (l.role === 'producer' || g.layers.get(l.name)!.role === 'member') count(l.outIds, 'outputs');
    });
  }

  /** MACs per sample with the currently kept channels. */
  total(): number {
    let s = 0;
    this.geo.forEach((l, i) => {
      s += l.role === 'producer' ? l.perChannel * this.keptIn[i] * this.keptOut[i] : l.perChannel * this.keptOut[i];
    });
    return s;
  }

  remove(c: number): void {
    for (const t of this.touches[c]) {
      this.keptIn[t.layer] -= t.inputs;
      this.keptOut[t.layer] -= t.outputs;
    }
  }
  restore(c: number): void {
    for (const t of this.touches[c]) {
      this.keptIn[t.layer] += t.inputs;
      this.keptOut[t.layer] += t.outputs;
    }
  }

  /** Per weighted layer: name and MACs now. */
  perLayer(): { name: string; macs: number }[] {
    return this.geo.map((l, i) => ({
      name: l.name,
      macs: l.role === 'producer' ? l.perChannel * this.keptIn[i] * this.keptOut[i] : l.perChannel * this.keptOut[i],
    }));
  }
}

/**
 * Median wall time of model.predict on the same random input for each model, on the current backend. The models
 * take turns run by run (after warm-up), so load from other processes falls on both alike.
 */
export async function compareLatency(models: tf.LayersModel[], batch: number, repeats = 15, warmup = 3): Promise<number[]> {
  const shape = (models[0].inputs[0].shape.slice(1) as (number | null)[]).map(d => d ?? 1);
  const x = tf.randomUniform([batch, ...shape], 0, 1, 'float32', 1);
  const times = models.map(() => [] as number[]);
  try {
    for (let i = 0; i < warmup + repeats; i++) {
      for (let j = 0; j < models.length; j++) {
        const t0 = performance.now();
        const y = models[j].predict(x) as tf.Tensor;
        await y.data();
        y.dispose();
        if (i >= warmup) times[j].push(performance.now() - t0);
      }
    }
  } finally {
    x.dispose();
  }
  return times.map(t => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}
