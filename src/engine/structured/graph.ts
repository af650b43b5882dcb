// Which output units of a layers-model can be removed, and what else goes with each one.
// Every tensor's last axis is a list of channel ids. A producer (Dense, Conv2D, Conv1D) makes one new id per unit;
// channel-wise layers (BatchNormalization, DepthwiseConv2D with multiplier 1, activations, pooling, padding, dropout)
// pass ids through; Flatten repeats them per position; Concatenate joins them at offsets; Add/Multiply/… tie the ids
// at equal positions into one class (pruned together or left alone). Ids reaching the model's output, coming from its
// input, or touching a layer this module does not understand are pinned (never removed).
import { tf } from '../backend';

export type Role = 'producer' | 'member' | 'passthrough' | 'barrier';

export interface LayerChannels {
  name: string;
  className: string;
  role: Role;
  inIds?: Int32Array; // consumers (producers) and members: channel ids of the input's last axis
  outIds: Int32Array; // channel ids of the output's last axis
}

export interface UnitClass {
  units: { layer: string; unit: number }[];
  members: { layer: string; channel: number }[];
}

export interface ChannelGraph {
  layers: Map<string, LayerChannels>;
  order: string[]; // topological
  classOf: (id: number) => number; // class index, −1 if pinned
  classes: UnitClass[]; // prunable classes: every producer unit and member channel in each
  /** Producer layers: units and, per unit, its class (−1 = pinned). */
  producers: { name: string; units: number; unitClass: Int32Array }[];
  notes: string[]; // why channels were pinned (barriers met)
}

/** Channel-wise activations: unit i of the output depends on unit i of the input alone. */
export const ACTIVATIONS = ['Activation', 'ReLU', 'LeakyReLU', 'ELU', 'ThresholdedReLU'];
/** Layers that keep every channel as it is (a constant channel stays that constant): dropout, pooling, cropping, resizing. */
export const CHANNEL_PRESERVING = [
  ...['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout'],
  ...['MaxPooling1D', 'MaxPooling2D', 'AveragePooling1D', 'AveragePooling2D'],
  ...['GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D'],
  ...['Cropping2D', 'UpSampling2D'],
];
const PASSTHROUGH = new Set([...ACTIVATIONS, ...CHANNEL_PRESERVING, 'ZeroPadding2D', 'Masking']);
const ELEMENTWISE = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']);
export const PRODUCER_KINDS = new Set(['Dense', 'Conv2D', 'Conv1D']);

class UnionFind {
  parent: number[] = [];
  pinned: boolean[] = [];
  make(pinned = false): number {
    this.parent.push(this.parent.length);
    this.pinned.push(pinned);
    return this.parent.length - 1;
  }
  find(a: number): number {
    while (this.parent[a] !== a) {
      this.parent[a] = this.parent[this.parent[a]];
      a = this.parent[a];
    }
    return a;
  }
  union(a: number, b: number): void {
    const ra = this.find(a),
      rb = this.find(b);
    if (ra === rb) return;
    this.parent[rb] = ra;
    this.pinned[ra] = this.pinned[ra] || this.pinned[rb];
  }
  pin(a: number): void {
    this.pinned[this.find(a)] = true;
  }
}

function lastDim(shape: (number | null)[]): number {
  const c = shape[shape.length - 1];
  if (c == null) throw new Error('unknown channel dimension');
  return c;
}

function singleShape(s: any): (number | null)[] {
  return Array.isArray(s[0]) ? s[0] : s;
}

/** Builds the channel graph of a loaded model. */
export function channelGraph(model: tf.LayersModel): ChannelGraph {
  const uf = new UnionFind();
  const layers = new Map<string, LayerChannels>();
  const order: string[] = [];
  const notes: string[] = [];
  const fresh = (n: number, pinned = false) => {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = uf.make(pinned);
    return a;
  };
  const pinAll = (ids: Int32Array | undefined) => {
    if (ids) for (const id of ids) uf.pin(id);
  };
  const outOf = (l: tf.layers.Layer): Int32Array => {
    const got = layers.get(l.name);
    if (got) return got.outIds;
    // an InputLayer (Sequential models keep it out of model.layers): its channels are the model's input, pinned
    const ids = fresh(channelCount(l), true);
    layers.set(l.name, { name: l.name, className: l.getClassName(), role: 'barrier', outIds: ids });
    return ids;
  };
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg: any = layer.getConfig();
    const nodes = layer.inboundNodes ?? [];
    const inbound = (nodes[0]?.inboundLayers ?? []) as tf.layers.Layer[];
    const ins = inbound.map(outOf);
    const barrier = (why: string): LayerChannels => {
      for (const ids of ins) pinAll(ids);
      if (ins.length) notes.push(`${layer.name} (${cls}): ${why}; the channels around it stay`);
      return { name: layer.name, className: cls, role: 'barrier', outIds: fresh(channelCount(layer), true) };
    };
    let info: LayerChannels;
    if (cls === 'InputLayer') info = { name: layer.name, className: cls, role: 'barrier', outIds: fresh(channelCount(layer), true) };
    else if (nodes.length !== 1) info = barrier('a shared layer');
    else if (cfg.dataFormat === 'channelsFirst') info = barrier('channels first');
    else if (PRODUCER_KINDS.has(cls)) {
      if (ins.length !== 1) info = barrier('several inputs');
      else {
        const out = fresh(lastDim(layer.outputShape as number[]));
        if (cfg.activation === 'softmax') pinAll(out); // a softmax couples every unit of the layer
        info = { name: layer.name, className: cls, role: 'producer', inIds: ins[0], outIds: out };
      }
    } else if (cls === 'BatchNormalization' || (cls === 'DepthwiseConv2D' && (cfg.depthMultiplier ?? 1) === 1)) {
      const axis = cls === 'BatchNormalization' ? (Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis]) : [-1];
      const rank = (layer.outputShape as number[]).length;
      if (ins.length !== 1) info = barrier('several inputs');
      else if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== rank - 1)) info = barrier('normalises an axis other than the last');
      else info = { name: layer.name, className: cls, role: 'member', inIds: ins[0], outIds: ins[0] };
    } else if (PASSTHROUGH.has(cls) && ins.length === 1 && !(cls === 'Activation' && cfg.activation === 'softmax')) {
      info = { name: layer.name, className: cls, role: 'passthrough', outIds: ins[0] };
    } else if (cls === 'Flatten' && ins.length === 1) {
      const shape = singleShape(inbound[0].outputShape as any);
      const c = ins[0].length,
        spatial = shape.slice(1, -1).reduce((a: number, b) => a * (b ?? NaN), 1);
      if (!Number.isFinite(spatial) || shape.length < 2) info = barrier('flattens an input of unknown size');
      else {
        const out = new Int32Array(spatial * c);
        for (let p = 0; p < spatial; p++) out.set(ins[0], p * c); // channels last: position p, channel k at p·C + k
        info = { name: layer.name, className: cls, role: 'passthrough', outIds: out };
      }
    } else if (ELEMENTWISE.has(cls) && ins.length >= 2) {
      if (ins.some(ids => ids.length !== ins[0].length)) info = barrier('inputs broadcast over channels');
      else {
        for (const ids of ins.slice(1)) ids.forEach((id, k) => uf.union(ins[0][k], id));
        info = { name: layer.name, className: cls, role: 'passthrough', outIds: ins[0] };
      }
    } else if (cls === 'Concatenate' && ins.length >= 2) {
      const rank = (layer.outputShape as number[]).length;
      const axis = cfg.axis ?? -1;
      if (axis === -1 || axis === rank - 1) {
        const out = new Int32Array(ins.reduce((a, ids) => a + ids.length, 0));
        let o = 0;
        for (const ids of ins) {
          out.set(ids, o);
          o += ids.length;
        }
        info = { name: layer.name, className: cls, role: 'passthrough', outIds: out };
      } else if (ins.every(ids => ids.length === ins[0].length)) {
        for (const ids of ins.slice(1)) ids.forEach((id, k) => uf.union(ins[0][k], id));
        info = { name: layer.name, className: cls, role: 'passthrough', outIds: ins[0] };
      } else info = barrier('concatenates along an axis other than channels');
    } else info = barrier(PASSTHROUGH.has(cls) || ELEMENTWISE.has(cls) ? 'unexpected inputs' : 'not understood by structured pruning');
    layers.set(layer.name, info);
    order.push(layer.name);
  }
  for (const out of model.outputs) pinAll(layers.get(out.sourceLayer.name)?.outIds); // the last layer's outputs never go

  // classes: roots of unpinned ids that some producer made
  const classIndex = new Map<number, number>();
  const classes: UnitClass[] = [];
  const classOf = (id: number) => {
    const r = uf.find(id);
    return uf.pinned[r] ? -1 : (classIndex.get(r) ?? -1);
  };
  const producers: ChannelGraph['producers'] = [];
  for (const name of order) {
    const l = layers.get(name)!;
    if (l.role !== 'producer') continue;
    const unitClass = new Int32Array(l.outIds.length);
    l.outIds.forEach((id, u) => {
      const r = uf.find(id);
      if (uf.pinned[r]) {
        unitClass[u] = -1;
        return;
      }
      let c = classIndex.get(r);
      if (c === undefined) {
        c = classes.length;
        classIndex.set(r, c);
        classes.push({ units: [], members: [] });
      }
      classes[c].units.push({ layer: name, unit: u });
      unitClass[u] = c;
    });
    producers.push({ name, units: l.outIds.length, unitClass });
  }
  for (const name of order) {
    const l = layers.get(name)!;
    if (l.role === 'member')
      l.inIds!.forEach((id, ch) => {
        const c = classOf(id);
        if (c >= 0) classes[c].members.push({ layer: name, channel: ch });
      });
  }
  return { layers, order, classOf, classes, producers, notes };
}

function channelCount(l: tf.layers.Layer): number {
  return lastDim(singleShape(l.outputShape as any));
}
