// One batched forward and backward pass through a layers-model's graph, in inference mode, written out layer by
// layer instead of through TF.js' tape: each layer's vector-Jacobian product (dx = Jᵀ dy) is a rule of its own
// for the layers that matter (conv, depthwise, dense, BatchNormalization) and tf.grads of that one layer otherwise.
// Why: TF.js' gradients of fused convs also compute the (summed) filter gradient we never use, its
// BatchNormalization gradient is ~10× a multiply and breaks without gamma or beta (tensorflow/tfjs#2868), and
// it refuses dilated convs. Every prunable layer reports (its input x, δ = ∂ΣL/∂z at its pre-activation z).
import { tf } from '../backend';
import { WoodFisherError, type PrunableKind } from '../types';
import { tapGeometry, type TapGeometry } from '../kernels/patches';
import { conv2dInputGrad, depthwiseInputGrad } from '../kernels/convGrads';

type Sym = tf.SymbolicTensor;

/** One call of a layer in the model's graph (a shared layer has several). */
export interface GraphStep {
  layer: any;
  cls: string;
  inputs: number[];          // symbolic tensor ids
  output: number;
  kwargs: Record<string, unknown>;
  prunable?: PrunableKind;   // its kernel is being pruned: report (x, δ)
  identity?: boolean;        // returned its input unchanged in inference mode (Dropout, noise layers): dx = dy
}

/** The model's calls in execution order, checked for what the backward pass cannot do (with the reason). */
export function graphSteps(model: tf.LayersModel, prunable: Map<string, PrunableKind>): GraphStep[] {
  if (model instanceof tf.Sequential && (model as any).model == null) model.build();   // a loaded Sequential builds lazily
  const byDepth = (model as any).nodesByDepth as Record<string, any[]> | undefined;
  if (!byDepth) throw new WoodFisherError('The model has no layer graph (not built).', 'MODEL_FORMAT');
  const steps: GraphStep[] = [];
  const depths = Object.keys(byDepth).map(Number).sort((a, b) => b - a);
  for (const depth of depths) {
    for (const node of byDepth[depth]) {
      const layer = node.outboundLayer;
      const cls = layer.getClassName();
      if (node.inboundLayers.length === 0 && cls === 'InputLayer') continue;
      if (node.outputTensors.length !== 1) throw unsupported(layer, `returns ${node.outputTensors.length} tensors`);
      if (layer.supportsMasking && node.callArgs?.mask != null) throw unsupported(layer, 'uses masks');
      const kind = prunable.get(layer.name);
      if (kind) {
        const cfg = layer.getConfig();
        if (cfg.dataFormat === 'channelsFirst') throw unsupported(layer, 'is channelsFirst (only channelsLast convolutions)');
      }
      steps.push({ layer, cls, inputs: node.inputTensors.map((s: Sym) => s.id), output: node.outputTensors[0].id, kwargs: { ...(node.callArgs ?? {}), training: false }, prunable: kind });
    }
  }
  return steps;
}

function unsupported(layer: any, why: string): WoodFisherError {
  return new WoodFisherError(`Layer '${layer.name}' (${layer.getClassName()}) ${why}; gradients through it are not supported.`, 'UNSUPPORTED_LAYER');
}

function pair(v: number | number[] | undefined, d = 1): [number, number] {
  if (v == null) return [d, d];
  return Array.isArray(v) ? [v[0], v[v.length > 1 ? 1 : 0]] : [v, v];
}

/** The NHWC convolution a Conv1D/Conv2D/DepthwiseConv2D layer computes on x (Conv1D as height 1). */
export function layerGeometry(kind: PrunableKind, layer: any, x: tf.Tensor): TapGeometry {
  const c = layer.getConfig();
  const kshape = layer.weights[0].shape as number[];
  if (kind === 'Conv1D') {
    const [k] = kshape;
    const d = pair(c.dilationRate)[0];
    const pad = c.padding === 'causal' ? [[0, 0], [0, 0], [(k - 1) * d, 0], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]] : c.padding;
    return tapGeometry([x.shape[0], 1, x.shape[1]!, x.shape[2]!], 1, k, [1, pair(c.strides)[0]], [1, d], pad);
  }
  // TF.js layers' DepthwiseConv2D.call passes no dilation to the op (unlike Keras): mirror what the model computes.
  const dil = kind === 'DepthwiseConv2D' ? [1, 1] as [number, number] : pair(c.dilationRate);
  return tapGeometry(x.shape as number[], kshape[0], kshape[1], pair(c.strides), dil, c.padding);
}

/** z = the layer without its activation; y = activation(z). */
function splitActivation(layer: any, x: tf.Tensor, kwargs: Record<string, unknown>): { z: tf.Tensor; y: tf.Tensor } {
  const act = layer.activation;
  const cls = act?.getClassName?.();
  if (!act || cls === 'linear') { const z = layer.call(x, kwargs) as tf.Tensor; return { z, y: z }; }
  layer.activation = LINEAR();
  let z: tf.Tensor;
  try { z = layer.call(x, kwargs) as tf.Tensor; } finally { layer.activation = act; }
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

/** dx of y = min(max(x, 0), c): dy where 0 < x < c, i.e. where x·(c − x) > 0. */
function relu6Grad(x: tf.Tensor, dy: tf.Tensor, c: number): tf.Tensor {
  return tf.mul(dy, tf.step(tf.mul(x, tf.sub(c, x))));
}

/** dx of inference-mode BatchNormalization: dy · γ/√(σ² + ε) along its axis (γ = 1 without scale). */
function batchNormGrad(layer: any, x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const cfg = layer.getConfig();
  const rank = x.rank;
  const axes = (Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis]).map((a: number) => (a < 0 ? a + rank : a));
  if (axes.length !== 1) throw unsupported(layer, 'normalises over several axes');
  const axis = axes[0];
  const shape = Array.from({ length: rank }, (_, i) => (i === axis ? x.shape[i]! : 1));
  let a = tf.rsqrt(tf.add(layer.movingVariance.read(), cfg.epsilon));
  if (cfg.scale !== false) a = tf.mul(a, layer.gamma.read());
  return tf.mul(dy, a.reshape(shape));
}

/** dx of the layer's linear part z = conv/dense(x) (+ bias). */
function kernelInputGrad(kind: PrunableKind, layer: any, x: tf.Tensor, dz: tf.Tensor): tf.Tensor {
  const w = layer.weights[0].read() as tf.Tensor;
  switch (kind) {
    case 'Dense': {
      const [inp, out] = w.shape as number[];
      return tf.matMul(dz.reshape([-1, out]), w, false, true).reshape(x.shape);
    }
    case 'Conv2D':
      return conv2dInputGrad(dz as tf.Tensor4D, w as tf.Tensor4D, layerGeometry(kind, layer, x));
    case 'Conv1D': {
      const g = layerGeometry(kind, layer, x);
      return conv2dInputGrad(dz.reshape([g.batch, 1, g.outW, -1]) as tf.Tensor4D, w.reshape([1, ...w.shape]) as tf.Tensor4D, g).reshape(x.shape);
    }
    case 'DepthwiseConv2D':
      return depthwiseInputGrad(dz as tf.Tensor4D, w as tf.Tensor4D, layerGeometry(kind, layer, x));
  }
}

/** Generic vector-Jacobian product of one layer call: tf.grads of that call alone. */
function genericGrad(step: GraphStep, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const f = (...a: tf.Tensor[]) => step.layer.call(a.length === 1 ? a[0] : a, step.kwargs) as tf.Tensor;
  try {
    return tf.grads(f)(xs, dy);
  } catch (e) {
    throw unsupported(step.layer, `has no gradient in TF.js (${(e as Error).message.split('\n')[0]})`);
  }
}

export interface PassResult { output: tf.Tensor }

/**
 * Forward pass keeping what the backward pass needs, then dL/d(output) from lossGrad, then the backward pass in
 * reverse order; onDelta(step, x, δ) for each prunable call while x and δ are alive (they are disposed after).
 * Runs in the caller's tidy scope for nothing: every tensor it makes is disposed here.
 */
export function forwardBackward(model: tf.LayersModel, steps: GraphStep[], x: tf.Tensor,
  lossGrad: (out: tf.Tensor) => tf.Tensor, onDelta: (step: GraphStep, x: tf.Tensor, delta: tf.Tensor) => void): void {
  const inputId = model.inputs[0].id, outputId = model.outputs[0].id;
  const values = new Map<number, tf.Tensor>([[inputId, x]]);
  const preAct = new Map<GraphStep, tf.Tensor>();
  const uses = new Map<number, number>();
  for (const s of steps) for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  const owned = new Set<tf.Tensor>();
  try {
    for (const s of steps) {
      const xs = s.inputs.map(i => values.get(i)!);
      const arg = xs.length === 1 ? xs[0] : xs;
      if (s.prunable) {
        const { z, y } = tf.tidy(() => { const r = splitActivation(s.layer, arg as tf.Tensor, s.kwargs); return { z: r.z, y: r.y }; });
        if (z !== y) { preAct.set(s, z); owned.add(z); }
        values.set(s.output, y); owned.add(y);
      } else {
        let y = tf.tidy(() => s.layer.call(arg, s.kwargs) as tf.Tensor);
        s.identity = xs.includes(y);
        if (s.identity) y = y.clone();                     // its own handle: values are disposed per symbolic tensor
        values.set(s.output, y); owned.add(y);
      }
    }
    const out = values.get(outputId);
    if (!out) throw new WoodFisherError('The model output is not reachable from its input.', 'MODEL_FORMAT');
    const grads = new Map<number, tf.Tensor>([[outputId, lossGrad(out)]]);
    const addGrad = (id: number, g: tf.Tensor) => {
      const prev = grads.get(id);
      if (!prev) { grads.set(id, g); return; }
      grads.set(id, tf.add(prev, g)); prev.dispose(); g.dispose();
    };
    for (let k = steps.length - 1; k >= 0; k--) {
      const s = steps[k];
      const dy = grads.get(s.output);
      grads.delete(s.output);
      if (!dy) continue;                                   // the output does not depend on this call
      const xs = s.inputs.map(i => values.get(i)!);
      let dxs: tf.Tensor[];
      if (s.prunable) {
        const z = preAct.get(s);
        const dz = z ? tf.tidy(() => activationGrad(s.layer, z, dy)) : dy;
        try {
          onDelta(s, xs[0], dz);
          dxs = k === 0 || s.inputs[0] === inputId ? [] : [tf.tidy(() => kernelInputGrad(s.prunable!, s.layer, xs[0], dz))];
        } finally { if (dz !== dy) dz.dispose(); }
      } else if (s.cls === 'ReLU' && s.layer.maxValue != null && !s.inputs.every(i => i === inputId)) {
        dxs = [tf.tidy(() => relu6Grad(xs[0], dy, s.layer.maxValue))];
      } else if (s.cls === 'BatchNormalization') {
        dxs = [tf.tidy(() => batchNormGrad(s.layer, xs[0], dy))];
      } else if (s.inputs.every(i => i === inputId)) {
        dxs = [];                                          // nothing upstream needs it
      } else if (s.identity) {
        dxs = [dy.clone()];
      } else {
        dxs = tf.tidy(() => genericGrad(s, xs, dy));
      }
      dy.dispose();
      dxs.forEach((g, i) => (s.inputs[i] === inputId ? g.dispose() : addGrad(s.inputs[i], g)));
      // the forward values only this call still needed can go
      for (const i of s.inputs) {
        const left = uses.get(i)! - 1;
        uses.set(i, left);
        if (left === 0 && i !== inputId) { values.get(i)?.dispose(); values.delete(i); }
      }
      const z = preAct.get(s);
      if (z) { z.dispose(); preAct.delete(s); }
    }
    for (const g of grads.values()) g.dispose();
  } finally {
    for (const t of owned) if (!t.isDisposed) t.dispose();
  }
}
