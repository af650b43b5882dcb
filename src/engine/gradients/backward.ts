// One batched forward and backward pass through a layers-model's graph, in inference mode, written out layer by
// layer instead of through TF.js' tape: each layer's vector-Jacobian product (dx = Jᵀ dy) is a rule of its own
// for the layers that matter (conv, depthwise, dense, BatchNormalization) and tf.grads of that one layer otherwise.
// Why: TF.js' gradients of fused convs also compute the (summed) filter gradient we never use, its
// BatchNormalization gradient is ~10× a multiply and breaks without gamma or beta (tensorflow/tfjs#2868), and
// it refuses dilated convs. Every prunable layer reports (its input x, δ = ∂ΣL/∂z at its pre-activation z).
import { tf } from '../backend';
import { WoodFisherError, type PrunableKind } from '../types';
import { pair, tapGeometry, type TapGeometry } from '../kernels/patches';
import { conv2dInputGrad, depthwiseInputGrad } from '../kernels/convGrads';

type Sym = tf.SymbolicTensor;

/** One call of a layer in the model's graph (a shared layer has several). */
export interface GraphStep {
  layer: any;
  cls: string;
  inputs: number[]; // symbolic tensor ids
  output: number;
  kwargs: Record<string, unknown>;
  prunable?: PrunableKind; // its kernel is being pruned: report (x, δ)
  identity?: boolean; // returned its input unchanged in inference mode (Dropout, noise layers): dx = dy
  shapes: Map<number, (number | null)[]>; // symbolic shapes of its inputs and output (batch dimension null)
}

/** The model's calls in execution order, checked for what the backward pass cannot do (with the reason). */
export function graphSteps(model: tf.LayersModel, prunable: Map<string, PrunableKind>): GraphStep[] {
  if (model instanceof tf.Sequential && (model as any).model == null) model.build(); // a loaded Sequential builds lazily
  const byDepth = (model as any).nodesByDepth as Record<string, any[]> | undefined;
  if (!byDepth) throw new WoodFisherError('The model has no layer graph (not built).', 'MODEL_FORMAT');
  const steps: GraphStep[] = [];
  const depths = Object.keys(byDepth)
    .map(Number)
    .sort((a, b) => b - a);
  for (const depth of depths) {
    for (const node of byDepth[depth]) {
      const layer = node.outboundLayer;
      const cls = layer.getClassName();
      if (node.inboundLayers.length === 0 && cls === 'InputLayer') continue;
      if (node.outputTensors.length !== 1) throw unsupported(layer, `returns ${node.outputTensors.length} tensors`);
      if (cls === 'Masking' || layer.maskZero || node.callArgs?.mask != null) throw unsupported(layer, 'uses masks');
      const kind = prunable.get(layer.name);
      if (kind) {
        const cfg = layer.getConfig();
        if (cfg.dataFormat === 'channelsFirst') throw unsupported(layer, 'is channelsFirst (only channelsLast convolutions)');
      }
      const shapes = new Map<number, (number | null)[]>([...node.inputTensors, node.outputTensors[0]].map((t: Sym) => [t.id, t.shape]));
      steps.push({
        layer,
        cls,
        inputs: node.inputTensors.map((s: Sym) => s.id),
        output: node.outputTensors[0].id,
        kwargs: { ...(node.callArgs ?? {}), training: false },
        prunable: kind,
        shapes,
      });
    }
  }
  return steps;
}

function unsupported(layer: any, why: string): WoodFisherError {
  return new WoodFisherError(
    `Layer '${layer.name}' (${layer.getClassName()}) ${why}; gradients through it are not supported.`,
    'UNSUPPORTED_LAYER',
  );
}

/** The NHWC convolution a Conv1D/Conv2D/DepthwiseConv2D layer computes on x (Conv1D as height 1). */
export function layerGeometry(kind: PrunableKind, layer: any, x: tf.Tensor): TapGeometry {
  const c = layer.getConfig();
  const kshape = layer.weights[0].shape as number[];
  if (kind === 'Conv1D') {
    const [k] = kshape;
    const d = pair(c.dilationRate)[0];
    const pad =
      c.padding === 'causal'
        ? ([
            [0, 0],
            [0, 0],
            [(k - 1) * d, 0],
            [0, 0],
          ] as [[number, number], [number, number], [number, number], [number, number]])
        : c.padding;
    return tapGeometry([x.shape[0], 1, x.shape[1]!, x.shape[2]!], 1, k, [1, pair(c.strides)[0]], [1, d], pad);
  }
  // TF.js layers' DepthwiseConv2D.call passes no dilation to the op (unlike Keras): mirror what the model computes.
  const dil = kind === 'DepthwiseConv2D' ? ([1, 1] as [number, number]) : pair(c.dilationRate);
  return tapGeometry(x.shape as number[], kshape[0], kshape[1], pair(c.strides), dil, c.padding);
}

/** z = the layer without its activation; y = activation(z). */
function splitActivation(layer: any, x: tf.Tensor, kwargs: Record<string, unknown>): { z: tf.Tensor; y: tf.Tensor } {
  const act = layer.activation;
  const cls = act?.getClassName?.();
  if (!act || cls === 'linear') {
    const z = layer.call(x, kwargs) as tf.Tensor;
    return { z, y: z };
  }
  layer.activation = LINEAR();
  let z: tf.Tensor;
  try {
    z = layer.call(x, kwargs) as tf.Tensor;
  } finally {
    layer.activation = act;
  }
  return { z, y: act.apply(z) as tf.Tensor };
}

let linearActivation: any;
function LINEAR(): any {
  if (!linearActivation) linearActivation = (tf.layers.dense({ units: 1, activation: 'linear' }) as any).activation;
  return linearActivation;
}

/** dz of y = act(z). */
function activationGrad(layer: any, z: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const act = layer.activation;
  const cls = act?.getClassName?.();
  if (!act || cls === 'linear') return dy;
  if (cls === 'relu') return tf.mul(dy, tf.step(z, 0));
  return tf.grad((t: tf.Tensor) => act.apply(t) as tf.Tensor)(z, dy);
}

/** dx of y = min(max(x, 0), c), from y: dy where 0 < y < c, i.e. where y·(c − y) > 0. */
function reluClipGrad(y: tf.Tensor, dy: tf.Tensor, c: number): tf.Tensor {
  return tf.mul(dy, tf.step(tf.mul(y, tf.sub(c, y))));
}

/** dx of ZeroPadding2D: dy without the padding. */
function zeroPadGrad(s: GraphStep, dy: tf.Tensor): tf.Tensor {
  const [[top], [left]] = s.layer.padding as [[number, number], [number, number]];
  const [, h, w, c] = shapeOf(s, s.inputs[0]) as number[];
  return dy.slice([0, top, left, 0], [dy.shape[0], h, w, c]);
}

/** dx of inference-mode BatchNormalization: dy · γ/√(σ² + ε) along its axis (γ = 1 without scale). */
function batchNormGrad(layer: any, dy: tf.Tensor): tf.Tensor {
  const cfg = layer.getConfig();
  const rank = dy.rank;
  const axes = (Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis]).map((a: number) => (a < 0 ? a + rank : a));
  if (axes.length !== 1) throw unsupported(layer, 'normalises over several axes');
  const axis = axes[0];
  const shape = Array.from({ length: rank }, (_, i) => (i === axis ? dy.shape[i]! : 1));
  let a = tf.rsqrt(tf.add(layer.movingVariance.read(), cfg.epsilon));
  if (cfg.scale !== false) a = tf.mul(a, layer.gamma.read());
  return tf.mul(dy, a.reshape(shape));
}

/** dx of the layer's linear part z = conv/dense(x) (+ bias). */
function kernelInputGrad(kind: PrunableKind, layer: any, x: tf.Tensor, dz: tf.Tensor): tf.Tensor {
  const w = layer.weights[0].read() as tf.Tensor;
  switch (kind) {
    case 'Dense': {
      const out = (w.shape as number[])[1];
      return tf.matMul(dz.reshape([-1, out]), w, false, true).reshape(x.shape);
    }
    case 'Conv2D':
      return conv2dInputGrad(dz as tf.Tensor4D, w as tf.Tensor4D, layerGeometry(kind, layer, x));
    case 'Conv1D': {
      const g = layerGeometry(kind, layer, x);
      return conv2dInputGrad(dz.reshape([g.batch, 1, g.outW, -1]) as tf.Tensor4D, w.reshape([1, ...w.shape]) as tf.Tensor4D, g).reshape(
        x.shape,
      );
    }
    case 'DepthwiseConv2D':
      return depthwiseInputGrad(dz as tf.Tensor4D, w as tf.Tensor4D, layerGeometry(kind, layer, x));
  }
}

/** Generic vector-Jacobian product of one layer call: tf.grads of that call alone, one gradient per distinct input
 *  (a tensor passed twice, as in Concatenate([x, x]), gets the sum over its uses once). */
function genericGrad(step: GraphStep, distinct: tf.Tensor[], uses: number[], dy: tf.Tensor): tf.Tensor[] {
  const f = (...a: tf.Tensor[]) => step.layer.call(uses.length === 1 ? a[0] : uses.map(u => a[u]), step.kwargs) as tf.Tensor;
  try {
    return tf.grads(f)(distinct, dy);
  } catch (e) {
    throw unsupported(step.layer, `has no gradient in TF.js (${(e as Error).message.split('\n')[0]})`);
  }
}

export interface PassResult {
  output: tf.Tensor;
}

type Rule = 'prunable' | 'relu-clip' | 'batchnorm' | 'add' | 'zeropad' | 'identity' | 'generic';

/** Which VJP a call gets and what it needs from the forward pass: its inputs, its output, or neither. */
function ruleOf(s: GraphStep, dyShape: (number | null)[]): { rule: Rule; inputs: boolean; output: boolean } {
  const same = (id: number) => JSON.stringify(shapeOf(s, id)) === JSON.stringify(dyShape);
  if (s.prunable) return { rule: 'prunable', inputs: true, output: false };
  if (s.identity) return { rule: 'identity', inputs: false, output: false };
  if (s.cls === 'ReLU' && s.layer.maxValue != null) return { rule: 'relu-clip', inputs: false, output: true }; // 0 < y < c ⇔ 0 < x < c
  if (s.cls === 'BatchNormalization') return { rule: 'batchnorm', inputs: false, output: false };
  if (s.cls === 'Add' && s.inputs.every(same)) return { rule: 'add', inputs: false, output: false };
  if (s.cls === 'ZeroPadding2D' && s.layer.getConfig().dataFormat !== 'channelsFirst')
    return { rule: 'zeropad', inputs: false, output: false };
  return { rule: 'generic', inputs: true, output: false };
}

/** The conv → BatchNormalization → ReLU(6) chains the forward pass runs as one fused convolution: the conv (Conv2D or
 *  DepthwiseConv2D, no activation) feeds only the BatchNormalization (inference, last axis), which feeds only the ReLU
 *  with maxValue 6, neither output being the model's. Keyed by the conv's step. In inference mode BatchNorm is an
 *  affine map per channel, so it folds into the kernel and bias; the chain's two extra kernels (BatchNorm, clip) were a
 *  quarter of the pass on MobileNetV2 (docs/performance.md). */
export function fusions(
  steps: GraphStep[],
  uses: Map<number, number>,
  outputId: number,
): Map<GraphStep, { bn: GraphStep; relu: GraphStep }> {
  const out = new Map<GraphStep, { bn: GraphStep; relu: GraphStep }>();
  for (let k = 0; k + 2 < steps.length; k++) {
    const [s, bn, relu] = [steps[k], steps[k + 1], steps[k + 2]];
    if (s.prunable !== 'Conv2D' && s.prunable !== 'DepthwiseConv2D') continue;
    const c = s.layer.getConfig();
    if ((c.activation ?? 'linear') !== 'linear' || c.dataFormat === 'channelsFirst') continue;
    if (s.prunable === 'Conv2D' && pair(c.dilationRate).some(d => d !== 1)) continue; // untested: tf.grads has no dilated oracle
    if (bn.cls !== 'BatchNormalization' || bn.inputs.length !== 1 || bn.inputs[0] !== s.output) continue;
    const axis = bn.layer.getConfig().axis;
    if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)))) continue;
    if (relu.cls !== 'ReLU' || relu.layer.maxValue !== 6 || relu.inputs.length !== 1 || relu.inputs[0] !== bn.output) continue;
    if (uses.get(s.output) !== 1 || uses.get(bn.output) !== 1 || s.output === outputId || bn.output === outputId) continue;
    out.set(s, { bn, relu });
    k += 2;
  }
  return out;
}

/** relu6(conv(x, W·a) + b·a + β − μ·a), a = γ/√(σ² + ε) per output channel (γ = 1 without scale, β = 0 without
 *  center): the chain's output in one fused convolution. */
function fusedConvBnRelu6(conv: GraphStep, bn: GraphStep, x: tf.Tensor): tf.Tensor {
  const c = conv.layer.getConfig(),
    n = bn.layer.getConfig();
  let a = tf.rsqrt(tf.add(bn.layer.movingVariance.read(), n.epsilon)) as tf.Tensor1D;
  if (n.scale !== false) a = tf.mul(a, bn.layer.gamma.read());
  let bias = tf.neg(tf.mul(bn.layer.movingMean.read(), a)) as tf.Tensor1D;
  if (n.center !== false) bias = tf.add(bias, bn.layer.beta.read());
  if (c.useBias) bias = tf.add(bias, tf.mul(conv.layer.bias.read(), a));
  const w = conv.layer.weights[0].read() as tf.Tensor4D;
  const [, , ci, co] = w.shape;
  if (conv.prunable === 'DepthwiseConv2D') {
    // output channel c·M + m; TF.js layers' DepthwiseConv2D passes no dilation to the op (layerGeometry)
    const filter = tf.mul(w, a.reshape([1, 1, ci, co])) as tf.Tensor4D;
    return tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter, strides: pair(c.strides), pad: c.padding, bias, activation: 'relu6' });
  }
  const filter = tf.mul(w, a.reshape([1, 1, 1, co])) as tf.Tensor4D;
  return tf.fused.conv2d({ x: x as tf.Tensor4D, filter, strides: pair(c.strides), pad: c.padding, bias, activation: 'relu6' });
}

/** Floats per sample the forward pass holds for the backward pass when it ends (its peak): what forwardBackward keeps. */
export function retainedFloats(steps: GraphStep[]): number {
  const size = (shape: (number | null)[]) => shape.slice(1).reduce((a: number, d) => a * (d ?? 1), 1);
  const kept = new Map<number, number>();
  for (const s of steps) {
    const r = ruleOf(s, shapeOf(s, s.output));
    if (r.inputs) for (const i of s.inputs) kept.set(i, size(shapeOf(s, i)));
    if (r.output) kept.set(s.output, size(shapeOf(s, s.output)));
    if (s.prunable && s.layer.activation && s.layer.activation.getClassName?.() !== 'linear')
      kept.set(-s.output, size(shapeOf(s, s.output))); // z
  }
  return [...kept.values()].reduce((a, b) => a + b, 0);
}

function shapeOf(s: GraphStep, id: number): (number | null)[] {
  return s.shapes.get(id)!;
}

/**
 * Forward pass keeping only what the backward pass needs (a BatchNormalization's or Add's input is dropped as soon as
 * the forward pass is past it), then dL/d(output) from lossGrad, then the backward pass in reverse order;
 * onDelta(step, x, δ) for each prunable call (each `wanted` one) while x and δ are alive (awaited: it may run native
 * products); the pass stops after the last wanted call (the same numbers up to there). Every tensor it makes is
 * disposed here.
 */
export async function forwardBackward(
  model: tf.LayersModel,
  steps: GraphStep[],
  x: tf.Tensor,
  lossGrad: (out: tf.Tensor) => tf.Tensor,
  onDelta: (step: GraphStep, x: tf.Tensor, delta: tf.Tensor) => void | Promise<void>,
  wanted?: (step: GraphStep) => boolean,
): Promise<void> {
  // calls whose δ is wanted and still to come; at 0 the backward pass stops (nothing below is read)
  let pending = wanted ? steps.filter(s => s.prunable && wanted(s)).length : Infinity;
  const inputId = model.inputs[0].id,
    outputId = model.outputs[0].id;
  const values = new Map<number, tf.Tensor>([[inputId, x]]);
  const preAct = new Map<GraphStep, tf.Tensor>();
  const forwardUses = new Map<number, number>(); // calls still to run that read the value
  const backwardUses = new Map<number, number>(); // VJPs still to run that read the value
  const bump = (m: Map<number, number>, id: number, by: number) => m.set(id, (m.get(id) ?? 0) + by);
  for (const s of steps) for (const i of s.inputs) bump(forwardUses, i, 1);
  const owned = new Set<tf.Tensor>();
  const drop = (id: number) => {
    if (id === inputId || (id === outputId && !backwardUses.get(id))) return;
    if ((forwardUses.get(id) ?? 0) > 0 || (backwardUses.get(id) ?? 0) > 0) return;
    values.get(id)?.dispose();
    values.delete(id);
  };
  const rules = new Map<GraphStep, ReturnType<typeof ruleOf>>();
  /** After a call: what its VJP will read is kept, what no call reads any more is dropped. */
  const ran = (t: GraphStep) => {
    const rule = ruleOf(t, shapeOf(t, t.output));
    rules.set(t, rule);
    if (rule.inputs) for (const i of t.inputs) bump(backwardUses, i, 1);
    if (rule.output) bump(backwardUses, t.output, 1);
    for (const i of t.inputs) {
      bump(forwardUses, i, -1);
      drop(i);
    }
  };
  const fused = fusions(steps, forwardUses, outputId);
  try {
    for (let k = 0; k < steps.length; k++) {
      const s = steps[k];
      const xs = s.inputs.map(i => values.get(i)!);
      const arg = xs.length === 1 ? xs[0] : xs;
      let y: tf.Tensor;
      const f = fused.get(s);
      if (f) {
        // conv → BatchNorm → ReLU6 as one fused conv: only the ReLU's output is made (the backward pass reads no other)
        const out = tf.tidy(() => fusedConvBnRelu6(s, f.bn, xs[0]));
        values.set(f.relu.output, out);
        owned.add(out);
        for (const t of [s, f.bn, f.relu]) ran(t);
        k += 2;
        continue;
      }
      if (s.prunable) {
        const r = tf.tidy(() => {
          const o = splitActivation(s.layer, arg as tf.Tensor, s.kwargs);
          return { z: o.z, y: o.y };
        });
        if (r.z !== r.y) {
          preAct.set(s, r.z);
          owned.add(r.z);
        }
        y = r.y;
      } else {
        y = tf.tidy(() => s.layer.call(arg, s.kwargs) as tf.Tensor);
        s.identity = xs.includes(y);
        if (s.identity) y = y.clone(); // its own handle: values are disposed per symbolic tensor
      }
      values.set(s.output, y);
      owned.add(y);
      ran(s);
    }
    const out = values.get(outputId);
    if (!out) throw new WoodFisherError('The model output is not reachable from its input.', 'MODEL_FORMAT');
    const grads = new Map<number, tf.Tensor>([[outputId, lossGrad(out)]]);
    drop(outputId);
    const addGrad = (id: number, g: tf.Tensor) => {
      const prev = grads.get(id);
      if (!prev) {
        grads.set(id, g);
        return;
      }
      grads.set(id, tf.add(prev, g));
      prev.dispose();
      g.dispose();
    };
    for (let k = steps.length - 1; k >= 0 && pending > 0; k--) {
      const s = steps[k];
      const rule = rules.get(s)!;
      const dy = grads.get(s.output);
      grads.delete(s.output);
      const upstream = !s.inputs.every(i => i === inputId);
      let dxs: [number, tf.Tensor][] = []; // (input id, its gradient)
      if (dy) {
        const xs = rule.inputs ? s.inputs.map(i => values.get(i)!) : [];
        switch (rule.rule) {
          case 'prunable': {
            const z = preAct.get(s);
            const dz = z ? tf.tidy(() => activationGrad(s.layer, z, dy)) : dy;
            try {
              if (!wanted || wanted(s)) {
                await onDelta(s, xs[0], dz);
                pending--;
              }
              if (upstream) dxs = [[s.inputs[0], tf.tidy(() => kernelInputGrad(s.prunable!, s.layer, xs[0], dz))]];
            } finally {
              if (dz !== dy) dz.dispose();
            }
            break;
          }
          case 'relu-clip':
            if (upstream) dxs = [[s.inputs[0], tf.tidy(() => reluClipGrad(values.get(s.output)!, dy, s.layer.maxValue))]];
            break;
          case 'batchnorm':
            if (upstream) dxs = [[s.inputs[0], tf.tidy(() => batchNormGrad(s.layer, dy))]];
            break;
          case 'add':
          case 'identity':
            if (upstream) dxs = s.inputs.map(i => [i, dy.clone()]); // Add([x, x]): 2·dy, one per use
            break;
          case 'zeropad':
            if (upstream) dxs = [[s.inputs[0], tf.tidy(() => zeroPadGrad(s, dy))]];
            break;
          case 'generic':
            if (upstream) {
              const ids = [...new Set(s.inputs)];
              const gs = tf.tidy(() =>
                genericGrad(
                  s,
                  ids.map(i => values.get(i)!),
                  s.inputs.map(i => ids.indexOf(i)),
                  dy,
                ),
              );
              dxs = ids.map((id, k) => [id, gs[k]]);
            }
            break;
        }
        dy.dispose();
        for (const [id, g] of dxs)
          if (id === inputId) g.dispose();
          else addGrad(id, g);
      }
      // the forward values only this VJP still needed can go
      if (rule.inputs)
        for (const i of s.inputs) {
          bump(backwardUses, i, -1);
          drop(i);
        }
      if (rule.output) {
        bump(backwardUses, s.output, -1);
        drop(s.output);
      }
      const z = preAct.get(s);
      if (z) {
        z.dispose();
        preAct.delete(s);
      }
    }
    for (const g of grads.values()) g.dispose();
  } finally {
    for (const t of owned) if (!t.isDisposed) t.dispose();
  }
}
