// The batched forward and backward pass of backward.ts written as one ONNX graph, for ONNX Runtime's CPU kernels
// (MLAS, two threads) instead of TF.js wasm (one thread): the same rules — inference mode, BatchNormalization an
// affine map per channel (folded into the conv before it), ReLU(6) masks from the output, no filter gradients — in
// NCHW, with the loss, its gradient and every pruned layer's per-sample kernel gradient (rows in PyTorch order) inside
// the graph. Layers outside the table below make it return the reason, and the TF.js pass runs instead.
// Opset 16: max pooling's gradient is ScatterElements with reduction 'add' (overlapping windows share inputs).
import { tf } from '../backend';
import type { PrunableLayer } from '../types';
import { pair, tapGeometry, tapsInside, type TapGeometry } from '../kernels/patches';
import { ONNX_FLOAT, ONNX_INT64, type OnnxInit, type OnnxNode, type OnnxValue } from '../linalg/accel/onnxModel';
import { PROB_EPSILON } from './loss';
import type { GraphStep } from './backward';

export const PASS_OPSET = 16;

export interface PassGraph {
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  inits: OnnxInit[];
  /** Graph output name of each wanted layer's rows [B, d] (torch order); output `sums` [rows, B] adds up each. */
  rows: Map<string, string>;
}

export interface PassGraphOptions {
  batch: number;
  wanted: ReadonlySet<string>; // layers whose rows are made; the backward pass stops below the lowest
  sampledLabels: boolean; // labels drawn in the graph from input `u` (else given as input `labels`)
  outputIsProbability: boolean;
}

class Unsupported extends Error {}
const no = (s: GraphStep, why: string) => new Unsupported(`layer '${s.layer.name}' (${s.cls}) ${why}`);

type Act = 'linear' | 'relu' | 'relu6' | 'softmax';
/** Adds a node; its output is `name` (a graph output) or a fresh name. */
type Op = (type: string, inputs: string[], attrs?: OnnxNode['attrs'], name?: string) => string;

/** A conv or dense call as the backward pass sees it. */
interface Conv {
  kind: 'Conv2D' | 'DepthwiseConv2D' | 'Dense';
  g?: TapGeometry;
  w: Float32Array; // TF.js layout
  wShape: number[];
  wName: string; // the forward's initializer (ONNX layout, BatchNorm folded)
  a?: Float32Array; // folded BatchNorm scale γ/√(σ² + ε)
  act: Act;
  x: string;
  xShape: number[];
  y: string; // after the activation (for its mask)
  out: number; // symbolic id the step's result stands for (the BatchNorm's when folded)
}

const values = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** The graph, or why this model's pass stays on TF.js. */
export function passGraph(model: tf.LayersModel, steps: GraphStep[], layers: PrunableLayer[], o: PassGraphOptions): PassGraph | string {
  try {
    return build(model, steps, layers, o);
  } catch (e) {
    if (e instanceof Unsupported) return e.message;
    throw e;
  }
}

function build(model: tf.LayersModel, steps: GraphStep[], layers: PrunableLayer[], o: PassGraphOptions): PassGraph {
  const B = o.batch;
  const nodes: OnnxNode[] = [];
  const inits: OnnxInit[] = [];
  let k = 0;
  const op: Op = (type, inputs, attrs, name) => {
    const out = name ?? `t${k++}`;
    nodes.push({ op: type, inputs, outputs: [out], attrs });
    return out;
  };
  const floats = (data: Float32Array, dims: number[]) => {
    const name = `c${inits.length}`;
    inits.push({ name, dims, data });
    return name;
  };
  const intCache = new Map<string, string>();
  const ints = (v: number[]) => {
    const key = v.join(',');
    let name = intCache.get(key);
    if (!name) {
      name = `i${inits.length}`;
      inits.push({ name, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
      intCache.set(key, name);
    }
    return name;
  };
  const scalars = new Map<number, string>();
  const scalar = (v: number) => {
    let name = scalars.get(v);
    if (!name) scalars.set(v, (name = floats(Float32Array.of(v), [])));
    return name;
  };
  const perChannel = (a: Float32Array) => floats(a, [a.length, 1, 1]); // broadcasts over [B, C, H, W]

  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Unsupported('the model has several inputs or outputs');
  const calls = new Map<string, number>();
  for (const s of steps) calls.set(s.layer.name, (calls.get(s.layer.name) ?? 0) + 1);
  const shared = steps.find(s => calls.get(s.layer.name)! > 1);
  if (shared) throw no(shared, 'is shared (called more than once)');
  const inputId = model.inputs[0].id,
    outputId = model.outputs[0].id;
  const tfShape = (s: GraphStep, id: number) => s.shapes.get(id)!.map((d, i) => (i === 0 ? B : d!));
  /** Name and NCHW shape of every symbolic tensor computed so far. */
  const val = new Map<number, { name: string; shape: number[] }>();
  const inShape = (model.inputs[0].shape as (number | null)[]).map((d, i) => (i === 0 ? B : d!));
  if (inShape.some(d => d == null)) throw new Unsupported('the model input has an unknown dimension');
  const nchw = (s: number[]) => (s.length === 4 ? [s[0], s[3], s[1], s[2]] : s);
  /** v reshaped as TF.js does it, in NHWC order, to `to` (TF order, batch first); NCHW again when 4-D. */
  const reshape = (v: { name: string; shape: number[] }, to: number[]) => {
    const r = op('Reshape', [v.shape.length === 4 ? op('Transpose', [v.name], { perm: [0, 2, 3, 1] }) : v.name, ints(to)]);
    return { name: to.length === 4 ? op('Transpose', [r], { perm: [0, 3, 1, 2] }) : r, shape: nchw(to) };
  };
  if (inShape.length !== 4 && inShape.length !== 2) throw new Unsupported(`the model input has rank ${inShape.length}`);
  val.set(inputId, { name: inShape.length === 4 ? op('Transpose', ['x'], { perm: [0, 3, 1, 2] }) : 'x', shape: nchw(inShape) });

  // Forward: per step, what its backward rule needs.
  const convs = new Map<GraphStep, Conv>();
  const masks = new Map<GraphStep, { act: Act; y: string }>(); // ReLU / Activation layers
  const bnScale = new Map<GraphStep, string>();
  const pools = new Map<GraphStep, { g: TapGeometry; indices?: string }>(); // geometry; a max pool's argmax
  const concatAxis = new Map<GraphStep, number>(); // NCHW axis
  const zeroPads = new Map<string, number[]>(); // ZeroPadding2D outputs: [top, left, bottom, right]
  const skipped = new Set<GraphStep>(); // folded BatchNorms
  const uses = new Map<number, number>();
  for (const s of steps) for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  let logits: { name: string; step: GraphStep } | undefined;

  const activation = (s: GraphStep, name: string | undefined): Act => {
    const c = name ?? 'linear';
    if (c === 'linear' || c === 'relu' || c === 'relu6') return c;
    if (c === 'softmax') {
      if (s.output !== outputId || !o.outputIsProbability) throw no(s, 'has a softmax that is not the model output');
      return c;
    }
    throw no(s, `has activation '${c}'`);
  };
  const applyAct = (act: Act, z: string): string =>
    act === 'relu' ? op('Relu', [z]) : act === 'relu6' ? op('Clip', [z, scalar(0), scalar(6)]) : z;

  for (let si = 0; si < steps.length; si++) {
    const s = steps[si];
    if (skipped.has(s)) continue;
    if (s.inputs.length > 1 && s.cls !== 'Add' && s.cls !== 'Concatenate') throw no(s, 'has several inputs');
    if (s.inputs.some(i => !val.has(i))) throw no(s, 'reads a value the pass does not have');
    const xin = val.get(s.inputs[0])!;
    const cfg = s.layer.getConfig();
    const alias = (v: { name: string; shape: number[] }) => val.set(s.output, v);
    switch (s.cls) {
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        if (cfg.dataFormat === 'channelsFirst') throw no(s, 'is channelsFirst');
        if (xin.shape.length !== 4) throw no(s, 'has no 4-D input');
        const w = s.layer.weights[0].read() as tf.Tensor;
        const wShape = w.shape as number[];
        const [kh, kw] = wShape;
        const dil: [number, number] = s.cls === 'DepthwiseConv2D' ? [1, 1] : pair(cfg.dilationRate); // as backward.ts's layerGeometry
        const g = tapGeometry(tfShape(s, s.inputs[0]), kh, kw, pair(cfg.strides), dil, cfg.padding);
        const act = activation(s, cfg.activation);
        // a BatchNormalization read only by this conv folds into it: z = conv(x, W·a) + (b·a + β − μ·a)
        const bn = steps[si + 1];
        const fold =
          act === 'linear' &&
          bn?.cls === 'BatchNormalization' &&
          bn.inputs.length === 1 &&
          bn.inputs[0] === s.output &&
          uses.get(s.output) === 1 &&
          s.output !== outputId &&
          lastAxis(bn);
        const co = s.cls === 'DepthwiseConv2D' ? wShape[2] * wShape[3] : wShape[3];
        let a: Float32Array | undefined;
        let bias = new Float32Array(co);
        if (s.layer.getConfig().useBias) bias = Float32Array.from(values(s.layer.bias.read()));
        if (fold) {
          const f = bnAffine(bn);
          a = f.a;
          for (let c = 0; c < co; c++) bias[c] = bias[c] * f.a[c] + f.b[c];
          skipped.add(bn);
        }
        const wv = values(w);
        const W = s.cls === 'Conv2D' ? convOihw(wv, wShape, a) : depthwiseOihw(wv, wShape, a);
        const pads = [g.top, g.left, g.bottom, g.right];
        const attrs: Record<string, number | number[]> = {
          kernel_shape: [kh, kw],
          strides: [g.sh, g.sw],
          dilations: [g.dh, g.dw],
          pads,
        };
        if (s.cls === 'DepthwiseConv2D') attrs.group = wShape[2];
        const wName = floats(W, [co, s.cls === 'Conv2D' ? wShape[2] : 1, kh, kw]);
        const z = op('Conv', [xin.name, wName, floats(bias, [co])], attrs);
        const out = fold ? bn.output : s.output;
        if (act === 'softmax') throw no(s, 'ends in softmax on a 4-D output');
        const y = applyAct(act, z);
        val.set(out, { name: y, shape: [B, co, g.outH, g.outW] });
        convs.set(s, { kind: s.cls, g, w: wv, wShape, wName, a, act, x: xin.name, xShape: xin.shape, y, out });
        break;
      }
      case 'Dense': {
        if (xin.shape.length !== 2) throw no(s, 'has an input of rank other than 2');
        const w = s.layer.weights[0].read() as tf.Tensor;
        const wShape = w.shape as number[];
        const act = activation(s, cfg.activation);
        const bias = cfg.useBias ? Float32Array.from(values(s.layer.bias.read())) : new Float32Array(wShape[1]);
        const wv = values(w);
        const wName = floats(wv, wShape);
        const z = op('Gemm', [xin.name, wName, floats(bias, [wShape[1]])]);
        const y = act === 'softmax' ? op('Softmax', [z], { axis: 1 }) : applyAct(act, z);
        if (act === 'softmax') logits = { name: z, step: s };
        val.set(s.output, { name: y, shape: [B, wShape[1]] });
        convs.set(s, { kind: 'Dense', w: wv, wShape, wName, act, x: xin.name, xShape: xin.shape, y, out: s.output });
        break;
      }
      case 'BatchNormalization': {
        if (!lastAxis(s)) throw no(s, 'normalises another axis than the last');
        const f = bnAffine(s);
        const [sa, sb] =
          xin.shape.length === 4 ? [perChannel(f.a), perChannel(f.b)] : [floats(f.a, [f.a.length]), floats(f.b, [f.b.length])];
        bnScale.set(s, sa);
        alias({ name: op('Add', [op('Mul', [xin.name, sa]), sb]), shape: xin.shape });
        break;
      }
      case 'ReLU':
      case 'Activation': {
        let act: Act;
        if (s.cls === 'ReLU') {
          if ((cfg.negativeSlope ?? 0) !== 0 || (cfg.threshold ?? 0) !== 0) throw no(s, 'has a slope or threshold');
          if (cfg.maxValue != null && cfg.maxValue !== 6) throw no(s, `clips at ${cfg.maxValue}`);
          act = cfg.maxValue == null ? 'relu' : 'relu6';
        } else act = activation(s, cfg.activation);
        if (act === 'softmax') {
          if (xin.shape.length !== 2) throw no(s, 'applies softmax to a tensor of rank other than 2');
          logits = { name: xin.name, step: s };
          alias({ name: op('Softmax', [xin.name], { axis: 1 }), shape: xin.shape });
        } else {
          const y = applyAct(act, xin.name);
          masks.set(s, { act, y });
          alias({ name: y, shape: xin.shape });
        }
        break;
      }
      case 'Softmax': {
        if (xin.shape.length !== 2 || ![-1, 1].includes(cfg.axis ?? -1)) throw no(s, 'is not over the classes of a 2-D output');
        if (s.output !== outputId) throw no(s, 'is not the model output');
        logits = { name: xin.name, step: s };
        alias({ name: op('Softmax', [xin.name], { axis: 1 }), shape: xin.shape });
        break;
      }
      case 'Add': {
        const xs = s.inputs.map(i => val.get(i)!);
        if (xs.some(v => v.shape.join() !== xs[0].shape.join())) throw no(s, 'broadcasts');
        alias({
          name: op(
            'Sum',
            xs.map(v => v.name),
          ),
          shape: xs[0].shape,
        });
        break;
      }
      case 'Concatenate': {
        const xs = s.inputs.map(i => val.get(i)!);
        const rank = xs[0].shape.length;
        const ax = (cfg.axis ?? -1) < 0 ? (cfg.axis ?? -1) + rank : cfg.axis;
        const axis = rank === 4 ? [0, 2, 3, 1][ax] : ax; // NHWC axis → NCHW
        if (axis === 0 || xs.some(v => v.shape.length !== rank)) throw no(s, 'concatenates over the batch or mixed ranks');
        const shape = [...xs[0].shape];
        shape[axis] = xs.reduce((a, v) => a + v.shape[axis], 0);
        concatAxis.set(s, axis);
        alias({
          name: op(
            'Concat',
            xs.map(v => v.name),
            { axis },
          ),
          shape,
        });
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        if (cfg.dataFormat === 'channelsFirst') throw no(s, 'is channelsFirst');
        if (xin.shape.length !== 4) throw no(s, 'has no 4-D input');
        const [kh, kw] = pair(cfg.poolSize, 2);
        const g = tapGeometry(tfShape(s, s.inputs[0]), kh, kw, cfg.strides == null ? [kh, kw] : pair(cfg.strides), [1, 1], cfg.padding);
        const attrs = { kernel_shape: [kh, kw], strides: [g.sh, g.sw], pads: [g.top, g.left, g.bottom, g.right] };
        const shape = [B, xin.shape[1], g.outH, g.outW];
        const zp = uses.get(s.inputs[0]) === 1 ? zeroPads.get(xin.name) : undefined;
        // ONNX Runtime folds a Pad read only by an AveragePool into the pool's pads, then refuses pads ≥ the window
        if (s.cls === 'AveragePooling2D' && zp && (Math.max(zp[0], zp[2]) >= kh || Math.max(zp[1], zp[3]) >= kw))
          throw no(s, 'reads a ZeroPadding2D as wide as its window, which ONNX Runtime cannot fold into the pool');
        if (s.cls === 'MaxPooling2D') {
          const y = `t${k++}`,
            indices = `t${k++}`; // flat index into the input [B, C, H, W] of each window's maximum
          nodes.push({ op: 'MaxPool', inputs: [xin.name], outputs: [y, indices], attrs });
          pools.set(s, { g, indices });
          alias({ name: y, shape });
        } else {
          pools.set(s, { g });
          alias({ name: op('AveragePool', [xin.name], { ...attrs, count_include_pad: 0 }), shape }); // TF: mean of the taps inside
        }
        break;
      }
      case 'ZeroPadding2D': {
        if (cfg.dataFormat === 'channelsFirst') throw no(s, 'is channelsFirst');
        const [[t, b], [l, r]] = s.layer.padding as [[number, number], [number, number]];
        const [n, c, h, w] = xin.shape;
        const padded = op('Pad', [xin.name, ints([0, 0, t, l, 0, 0, b, r])]);
        zeroPads.set(padded, [t, l, b, r]);
        alias({ name: padded, shape: [n, c, h + t + b, w + l + r] });
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        if (cfg.dataFormat === 'channelsFirst' || cfg.keepdims) throw no(s, 'is channelsFirst or keeps dims');
        const reduce = s.cls === 'GlobalMaxPooling2D' ? 'ReduceMax' : 'ReduceMean';
        alias({ name: op(reduce, [xin.name], { axes: [2, 3], keepdims: 0 }), shape: xin.shape.slice(0, 2) });
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const to = tfShape(s, s.output);
        if (to.some(v => !(v > 0))) throw no(s, 'has an unknown output dimension');
        alias(to.join() === xin.shape.join() && to.length !== 4 ? xin : reshape(xin, to));
        break;
      }
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'SpatialDropout2D':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
        alias(xin); // inference mode: the input
        break;
      default:
        throw no(s, 'has no rule in the ONNX pass');
    }
  }
  const out = val.get(outputId);
  if (!out || out.shape.length !== 2) throw new Unsupported('the model output is not [batch, classes]');
  const K = out.shape[1];
  const z = o.outputIsProbability ? logits?.name : out.name;
  if (!z) throw new Unsupported('the softmax of the output is not a layer the pass knows');

  // Loss: cross-entropy of the logits z; labels given, or drawn as in sampleCategorical: the first class whose
  // cumulative probability exceeds u·Σp. ∂L/∂z = p − onehot(y) (probability outputs: 0 where p_y is clipped).
  const p = op('Softmax', [z], { axis: 1 });
  let labels = 'labels';
  if (o.sampledLabels) {
    const cs = op('CumSum', [p, ints([1])]);
    const total = op('Slice', [cs, ints([K - 1]), ints([K]), ints([1])]);
    const below = op('Cast', [op('LessOrEqual', [cs, op('Mul', ['u', total])])], { to: ONNX_INT64 });
    labels = op('Min', [op('ReduceSum', [below, ints([1])], { keepdims: 0 }), ints([K - 1])], undefined, 'labels_out');
  }
  const oneHot = op('OneHot', [labels, ints([K]), floats(Float32Array.of(0, 1), [2])], { axis: -1 });
  let dz: string;
  if (!o.outputIsProbability) {
    op('Neg', [op('ReduceSum', [op('Mul', [oneHot, op('LogSoftmax', [z], { axis: 1 })]), ints([1])], { keepdims: 0 })], undefined, 'loss');
    dz = op('Sub', [p, oneHot]);
  } else {
    const py = op('ReduceSum', [op('Mul', [oneHot, p]), ints([1])], { keepdims: 1 }); // [B, 1]
    const lo = scalar(PROB_EPSILON),
      hi = scalar(1 - PROB_EPSILON);
    op('Neg', [op('Log', [op('Squeeze', [op('Clip', [py, lo, hi]), ints([1])])])], undefined, 'loss');
    const inRange = op('Cast', [op('And', [op('GreaterOrEqual', [py, lo]), op('LessOrEqual', [py, hi])])], { to: ONNX_FLOAT });
    dz = op('Mul', [op('Sub', [p, oneHot]), inRange]);
  }

  // Backward, in reverse order, from δ at the logits; stops after the lowest wanted layer.
  const deltas = new Map<number, string[]>();
  const give = (id: number, d: string) => {
    if (id === inputId) return;
    deltas.set(id, [...(deltas.get(id) ?? []), d]);
  };
  const take = (id: number): string | undefined => {
    const ds = deltas.get(id);
    deltas.delete(id);
    if (!ds) return undefined;
    return ds.length === 1 ? ds[0] : op('Sum', ds);
  };
  const logitStep = o.outputIsProbability ? logits!.step : undefined;
  if (logitStep && convs.has(logitStep))
    deltas.set(-1, [dz]); // the Dense's own z
  else if (logitStep) give(logitStep.inputs[0], dz);
  else give(outputId, dz);
  const rows = new Map<string, string>();
  const outputs: OnnxValue[] = [];
  let pending = layers.filter(l => o.wanted.has(l.name)).length;
  const kinds = new Map(layers.map(l => [l.name, l]));
  const maskOf = (act: Act, y: string, d: string) => {
    if (act === 'linear') return d;
    let on = op('Greater', [y, scalar(0)]);
    if (act === 'relu6') on = op('And', [on, op('Less', [y, scalar(6)])]); // 0 < y < 6
    return op('Where', [on, d, scalar(0)]); // one pass over δ (Cast then Mul made two)
  };

  for (let si = steps.length - 1; si >= 0 && pending > 0; si--) {
    const s = steps[si];
    if (skipped.has(s) || (s === logitStep && !convs.has(s))) continue; // a softmax layer's input got δ above
    const c = convs.get(s);
    const upstream = !s.inputs.every(i => i === inputId);
    if (c) {
      let d: string | undefined = s === logitStep ? take(-1) : take(c.out);
      if (!d) continue; // the loss does not reach it
      if (c.act !== 'softmax') d = maskOf(c.act, c.y, d); // δ at z, after the folded BatchNorm
      const l = kinds.get(s.layer.name);
      if (l && o.wanted.has(l.name)) {
        const r = `rows_${rows.size}`;
        const dConv = c.a ? op('Mul', [d, perChannel(c.a)]) : d; // δ at the conv's own output: ∂z/∂conv = a
        rowNodes(c, dConv, B, op, ints, r);
        rows.set(l.name, r);
        outputs.push({ name: r, elemType: ONNX_FLOAT, dims: [B, l.size] });
        pending--;
      }
      if (upstream && pending > 0) give(s.inputs[0], inputGrad(c, d, op, floats, ints)); // with the folded kernel: Σ_o δ_o a_o W_o
      continue;
    }
    const d = take(s.output);
    if (!d || !upstream) continue;
    const x = val.get(s.inputs[0])!;
    switch (s.cls) {
      case 'BatchNormalization':
        give(s.inputs[0], op('Mul', [d, bnScale.get(s)!]));
        break;
      case 'ReLU':
      case 'Activation': {
        const m = masks.get(s);
        give(s.inputs[0], m ? maskOf(m.act, m.y, d) : d);
        break;
      }
      case 'Add':
        for (const i of s.inputs) give(i, d);
        break;
      case 'Concatenate': {
        const axis = concatAxis.get(s)!;
        let at = 0;
        for (const i of s.inputs) {
          const w = val.get(i)!.shape[axis];
          give(i, op('Slice', [d, ints([at]), ints([at + w]), ints([axis])]));
          at += w;
        }
        break;
      }
      case 'MaxPooling2D': {
        // dx = Σ over windows of δ at each window's argmax
        const size = x.shape.reduce((a, b) => a * b, 1);
        const flat = op(
          'ScatterElements',
          [op('ConstantOfShape', [ints([size])]), op('Reshape', [pools.get(s)!.indices!, ints([-1])]), op('Reshape', [d, ints([-1])])],
          { axis: 0, reduction: 'add' },
        );
        give(s.inputs[0], op('Reshape', [flat, ints(x.shape)]));
        break;
      }
      case 'AveragePooling2D': {
        // dx = the transposed conv of δ / (taps inside each window) with a kernel of ones, per channel
        const g = pools.get(s)!.g;
        const C = x.shape[1];
        const perTap = op('Mul', [d, floats(inverseTapCounts(g), [1, 1, g.outH, g.outW])]);
        give(s.inputs[0], transposedConv(op, perTap, floats(new Float32Array(C * g.kh * g.kw).fill(1), [C, 1, g.kh, g.kw]), g, C));
        break;
      }
      case 'ZeroPadding2D': {
        const [[t], [l]] = s.layer.padding as [[number, number], [number, number]];
        const [, , h, w] = x.shape;
        give(s.inputs[0], op('Slice', [d, ints([t, l]), ints([t + h, l + w]), ints([2, 3])]));
        break;
      }
      case 'GlobalAveragePooling2D': {
        const [, , h, w] = x.shape;
        give(s.inputs[0], op('Expand', [op('Unsqueeze', [op('Mul', [d, scalar(1 / (h * w))]), ints([2, 3])]), ints(x.shape)]));
        break;
      }
      case 'GlobalMaxPooling2D': {
        // TF.js' rule for max: δ to every position equal to the maximum
        const at = op('Cast', [op('Equal', [x.name, op('Unsqueeze', [val.get(s.output)!.name, ints([2, 3])])])], { to: ONNX_FLOAT });
        give(s.inputs[0], op('Mul', [at, op('Unsqueeze', [d, ints([2, 3])])]));
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const y = val.get(s.output)!;
        give(s.inputs[0], y.name === x.name ? d : reshape({ name: d, shape: y.shape }, tfShape(s, s.inputs[0])).name);
        break;
      }
      default:
        give(s.inputs[0], d); // identity in inference mode
    }
  }
  if (pending > 0) {
    // a wanted layer the loss does not reach: its rows are zero (as in the TF.js pass)
    for (const l of layers)
      if (o.wanted.has(l.name) && !rows.has(l.name)) {
        const r = `rows_${rows.size}`;
        nodes.push({ op: 'ConstantOfShape', inputs: [ints([B, l.size])], outputs: [r] });
        rows.set(l.name, r);
        outputs.push({ name: r, elemType: ONNX_FLOAT, dims: [B, l.size] });
      }
  }
  // each layer's rows summed per sample, [layers, B] in `rows` order: a NaN or Inf anywhere makes its sum non-finite
  // (one vectorised pass in the graph instead of a JS loop over every row)
  const sums = [...rows.values()].map(r => op('Unsqueeze', [op('ReduceSum', [r, ints([1])], { keepdims: 0 }), ints([0])]));
  if (sums.length) op('Concat', sums, { axis: 0 }, 'sums');
  else op('ConstantOfShape', [ints([0, B])], undefined, 'sums');
  outputs.push({ name: 'sums', elemType: ONNX_FLOAT, dims: [rows.size, B] });
  outputs.push({ name: 'loss', elemType: ONNX_FLOAT, dims: [B] });
  if (o.sampledLabels) outputs.push({ name: 'labels_out', elemType: ONNX_INT64, dims: [B] });
  const inputs: OnnxValue[] = [{ name: 'x', elemType: ONNX_FLOAT, dims: inShape }];
  inputs.push(o.sampledLabels ? { name: 'u', elemType: ONNX_FLOAT, dims: [B, 1] } : { name: 'labels', elemType: ONNX_INT64, dims: [B] });
  return { nodes, inputs, outputs, inits, rows };
}

function lastAxis(bn: GraphStep): boolean {
  const axis = bn.layer.getConfig().axis;
  const rank = bn.shapes.get(bn.inputs[0])!.length;
  const ax = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : NaN) : axis;
  return ax === -1 || ax === rank - 1;
}

/** Inference BatchNormalization as y = a·x + b per channel: a = γ/√(σ² + ε), b = β − μ·a (γ = 1 without scale,
 *  β = 0 without center), in float64 and rounded once. */
function bnAffine(s: GraphStep): { a: Float32Array; b: Float32Array } {
  const L = s.layer,
    cfg = L.getConfig();
  const mean = values(L.movingMean.read()),
    variance = values(L.movingVariance.read());
  const gamma = cfg.scale !== false ? values(L.gamma.read()) : undefined;
  const beta = cfg.center !== false ? values(L.beta.read()) : undefined;
  const a = new Float32Array(mean.length),
    b = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    const ac = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + cfg.epsilon);
    a[c] = ac;
    b[c] = (beta ? beta[c] : 0) - mean[c] * ac;
  }
  return { a, b };
}

/** TF.js conv kernel [kh, kw, ci, co] → ONNX [co, ci, kh, kw], each output channel scaled by a when given. */
function convOihw(w: Float32Array, [kh, kw, ci, co]: number[], a?: Float32Array): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) out[((o * ci + c) * kh + i) * kw + j] = w[((i * kw + j) * ci + c) * co + o] * (a ? a[o] : 1);
  return out;
}

/** TF.js depthwise kernel [kh, kw, C, M] → ONNX [C·M, 1, kh, kw] (output channel c·M + m, group c). */
function depthwiseOihw(w: Float32Array, [kh, kw, C, M]: number[], a?: Float32Array, flip = false): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < C; c++)
        for (let m = 0; m < M; m++) {
          const o = c * M + m;
          const [ii, jj] = flip ? [kh - 1 - i, kw - 1 - j] : [i, j];
          out[(o * kh + ii) * kw + jj] = w[((i * kw + j) * C + c) * M + m] * (a ? a[o] : 1);
        }
  return out;
}

/** Per-sample kernel gradients [B, d] in torch order from the layer input x (NCHW) and δ at its output. */
function rowNodes(c: Conv, d: string, B: number, op: Op, ints: (v: number[]) => string, name: string): string {
  if (c.kind === 'Dense') {
    const [inp, out] = c.wShape;
    return op(
      'Reshape',
      [op('Mul', [op('Unsqueeze', [d, ints([2])]), op('Unsqueeze', [c.x, ints([1])])]), ints([B, out * inp])],
      undefined,
      name,
    ); // δ ⊗ x
  }
  const g = c.g!;
  const [kh, kw] = c.wShape;
  const ci = c.xShape[1];
  const P = g.outH * g.outW;
  if (c.kind === 'Conv2D' && kh === 1 && kw === 1) {
    // 1×1: g_n = δ_n x_nᵀ over the output positions ([co, P] · [P, ci])
    // a 1×1 kernel never pads ('same' needs none): the strided input is what it reads
    const x = g.sh !== 1 || g.sw !== 1 ? op('Slice', [c.x, ints([0, 0]), ints([g.inH, g.inW]), ints([2, 3]), ints([g.sh, g.sw])]) : c.x;
    const co = c.wShape[3];
    const xs = op('Reshape', [x, ints([B, ci, P])]);
    return op(
      'Reshape',
      [op('MatMul', [op('Reshape', [d, ints([B, co, P])]), op('Transpose', [xs], { perm: [0, 2, 1] })]), ints([B, co * ci])],
      undefined,
      name,
    );
  }
  // k×k and depthwise: the filter gradient is a correlation of x with δ (δ dilated by the stride, read with the
  // conv's dilation as stride) — one grouped Conv over all samples at once: groups = samples (× channels, depthwise).
  const attrs = {
    strides: [g.dh, g.dw],
    dilations: [g.sh, g.sw],
    kernel_shape: [g.outH, g.outW],
    pads: [g.top, g.left, g.bottom, g.right],
  };
  if (c.kind === 'Conv2D') {
    const co = c.wShape[3];
    const xt = op('Transpose', [c.x], { perm: [1, 0, 2, 3] }); // [ci, B, H, W]: batch ci, channel = sample
    const f = op('Conv', [xt, op('Reshape', [d, ints([B * co, 1, g.outH, g.outW])])], { ...attrs, group: B }); // [ci, B·co, ·, ·]
    const cut = op('Slice', [f, ints([0, 0]), ints([kh, kw]), ints([2, 3])]);
    return op(
      'Reshape',
      [op('Transpose', [op('Reshape', [cut, ints([ci, B, co, kh, kw])])], { perm: [1, 2, 0, 3, 4] }), ints([B, co * ci * kh * kw])],
      undefined,
      name,
    );
  }
  const [, , C, M] = c.wShape;
  const xr = op('Reshape', [c.x, ints([1, B * C, g.inH, g.inW])]);
  const f = op('Conv', [xr, op('Reshape', [d, ints([B * C * M, 1, g.outH, g.outW])])], { ...attrs, group: B * C }); // [1, B·C·M, ·, ·]
  return op('Reshape', [op('Slice', [f, ints([0, 0]), ints([kh, kw]), ints([2, 3])]), ints([B, C * M * kh * kw])], undefined, name);
}

/** The transposed conv of δ with w [group·…, …, kh, kw] over geometry g (group = channels for depthwise): its output
 *  is s(O − 1) + (k − 1)d + 1 − pads, so the end pad (or output_padding) makes it the input's size. */
function transposedConv(op: Op, d: string, w: string, g: TapGeometry, group: number): string {
  const end = (o: number, s: number, k: number, dl: number, top: number, size: number) => (o - 1) * s + (k - 1) * dl + 1 - top - size;
  const eh = end(g.outH, g.sh, g.kh, g.dh, g.top, g.inH),
    ew = end(g.outW, g.sw, g.kw, g.dw, g.left, g.inW);
  return op('ConvTranspose', [d, w], {
    kernel_shape: [g.kh, g.kw],
    strides: [g.sh, g.sw],
    dilations: [g.dh, g.dw],
    pads: [g.top, g.left, Math.max(0, eh), Math.max(0, ew)],
    output_padding: [Math.max(0, -eh), Math.max(0, -ew)],
    group,
  });
}

/** 1 / (taps of each pooling window inside the input): [outH · outW]. */
function inverseTapCounts(g: TapGeometry): Float32Array {
  const inv = new Float32Array(g.outH * g.outW);
  for (let i = 0; i < g.outH; i++) for (let j = 0; j < g.outW; j++) inv[i * g.outW + j] = 1 / tapsInside(g, i, j);
  return inv;
}

/** dx of the conv or dense call from δ at z, with the forward's (BatchNorm-folded) kernel. Conv2D: a 1×1 stride-1
 *  conv with Wᵀ, else the transposed conv; depthwise: the flipped kernel over δ spread by the stride (the same rule
 *  as kernels/convGrads.ts). */
function inputGrad(
  c: Conv,
  d: string,
  op: Op,
  floats: (data: Float32Array, dims: number[]) => string,
  ints: (v: number[]) => string,
): string {
  if (c.kind === 'Dense') return op('Gemm', [d, c.wName], { transB: 1 });
  const g = c.g!;
  const [kh, kw] = c.wShape;
  const transposed = (w: string, group: number) => transposedConv(op, d, w, g, group);
  if (c.kind === 'Conv2D') {
    const [, , ci, co] = c.wShape;
    if (kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1) {
      const wt = new Float32Array(ci * co); // [ci, co, 1, 1] = W·a as stored by TF.js ([ci, co])
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) wt[i * co + o] = c.w[i * co + o] * (c.a ? c.a[o] : 1);
      return op('Conv', [d, floats(wt, [ci, co, 1, 1])], { kernel_shape: [1, 1] });
    }
    return transposed(c.wName, 1);
  }
  const [, , C, M] = c.wShape;
  if (g.sh !== 1 || g.sw !== 1) return transposed(c.wName, C);
  const ds = d;
  // dx[h] = Σ_i δs[h + top − i] W[i]: the flipped kernel, begin pad k − 1 − top, end pad to the input's size
  const bh = kh - 1 - g.top,
    bw = kw - 1 - g.left;
  if (bh < 0 || bw < 0) throw new Unsupported(`depthwise padding ${g.top}×${g.left} exceeds its kernel`);
  const eh = g.inH + kh - 1 - g.outH * g.sh - bh,
    ew = g.inW + kw - 1 - g.outW * g.sw - bw;
  const wf = depthwiseOihw(c.w, c.wShape, c.a, true); // [C, M, kh, kw]: group c reads its M channels
  const dx = op('Conv', [ds, floats(wf, [C, M, kh, kw])], {
    kernel_shape: [kh, kw],
    group: C,
    pads: [bh, bw, Math.max(0, eh), Math.max(0, ew)],
  });
  return eh >= 0 && ew >= 0 ? dx : op('Slice', [dx, ints([0, 0]), ints([g.inH, g.inW]), ints([2, 3])]);
}
