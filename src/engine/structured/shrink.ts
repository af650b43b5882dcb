// Physically removing unit classes from a layers-model: producers lose output units (kernel columns, bias entries),
// consumers lose the matching input rows, channel-wise members (BatchNormalization, DepthwiseConv2D) lose channels.
// The result is a new LayersModel built from the edited topology, so TF.js itself checks every shape.
import { tf } from '../backend';
import { WoodFisherError } from '../types';
import type { ChannelGraph } from './graph';

/** Positions of `ids` whose class is kept (pinned ids are always kept). */
export function keptPositions(ids: Int32Array, g: ChannelGraph, removed: Uint8Array): Int32Array {
  const out: number[] = [];
  ids.forEach((id, k) => {
    const c = g.classOf(id);
    if (c < 0 || !removed[c]) out.push(k);
  });
  return Int32Array.from(out);
}

/** values (row-major, `shape`) restricted to indices `keep` along `axis`. */
export function takeAlong(
  values: Float32Array,
  shape: number[],
  axis: number,
  keep: Int32Array,
): { values: Float32Array; shape: number[] } {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1),
    n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * keep.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++)
    for (const k of keep) {
      out.set(values.subarray((a * n + k) * inner, (a * n + k + 1) * inner), o);
      o += inner;
    }
  const s = shape.slice();
  s[axis] = keep.length;
  return { values: out, shape: s };
}

export interface ShrinkResult {
  model: tf.LayersModel;
  units: { layer: string; kept: number; of: number }[]; // producers, in model order
}

/** Layer configs of a Keras-style topology by name (Sequential and functional). */
function layerConfigs(topology: any): Map<string, any> {
  const list: any[] = Array.isArray(topology?.config) ? topology.config : (topology?.config?.layers ?? []);
  return new Map(list.map(e => [e.config?.name ?? e.name, e.config]));
}

/** A new model without the removed classes (removed[c] = 1); the input model is untouched. */
export async function shrinkModel(model: tf.LayersModel, g: ChannelGraph, removed: Uint8Array): Promise<ShrinkResult> {
  if (removed.length !== g.classes.length)
    throw new WoodFisherError(`structured pruning: ${removed.length} flags for ${g.classes.length} unit classes`, 'OPTIONS');
  const topology = model.toJSON(undefined, false) as any;
  const configs = layerConfigs(topology);
  const units: ShrinkResult['units'] = [];
  const keepOut = new Map<string, Int32Array>(),
    keepIn = new Map<string, Int32Array>();
  for (const name of g.order) {
    const l = g.layers.get(name)!;
    if (l.role === 'producer') {
      const out = keptPositions(l.outIds, g, removed);
      if (out.length === 0) throw new WoodFisherError(`structured pruning would remove every unit of layer ${name}`, 'OPTIONS');
      keepOut.set(name, out);
      keepIn.set(name, keptPositions(l.inIds!, g, removed));
      const cfg = configs.get(name);
      if (!cfg) throw new WoodFisherError(`layer ${name} is missing from the model topology`, 'MODEL_FORMAT');
      if (l.className === 'Dense') cfg.units = out.length;
      else cfg.filters = out.length;
      units.push({ layer: name, kept: out.length, of: l.outIds.length });
    } else if (l.role === 'member') keepIn.set(name, keptPositions(l.inIds!, g, removed));
  }
  const shrunk = await tf.models.modelFromJSON({ modelTopology: topology });
  try {
    for (const name of g.order) {
      const l = g.layers.get(name)!;
      const src = model.getLayer(name),
        dst = shrunk.getLayer(name);
      if (src.weights.length === 0) continue;
      const values = src.getWeights().map(t => ({ values: t.dataSync() as Float32Array, shape: t.shape.slice() }));
      let next = values;
      if (l.role === 'producer') {
        next = values.map((v, i) => {
          if (i === 0) {
            // kernel [..., in, out]
            const r = takeAlong(v.values, v.shape, v.shape.length - 2, keepIn.get(name)!);
            return takeAlong(r.values, r.shape, r.shape.length - 1, keepOut.get(name)!);
          }
          return takeAlong(v.values, v.shape, v.shape.length - 1, keepOut.get(name)!); // bias [out]
        });
      } else if (l.role === 'member') {
        // DepthwiseConv2D kernel [kh, kw, C, 1] (channels on axis 2), bias [C]; BatchNormalization γ, β, μ, σ² [C]
        next = values.map(v => takeAlong(v.values, v.shape, v.shape.length === 4 ? 2 : v.shape.length - 1, keepIn.get(name)!));
      }
      const want = dst.weights.map(w => w.shape.join('x')).join(','),
        got = next.map(v => v.shape.join('x')).join(',');
      if (want !== got) throw new WoodFisherError(`structured pruning: layer ${name} expects weights ${want}, computed ${got}`, 'NUMERIC');
      const tensors = next.map(v => tf.tensor(v.values, v.shape, 'float32'));
      dst.setWeights(tensors);
      tf.dispose(tensors);
    }
  } catch (e) {
    shrunk.dispose();
    throw e;
  }
  return { model: shrunk, units };
}
