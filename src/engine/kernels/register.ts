// Registers the conv backprop kernels the wasm backend lacks, implemented with wasm tensor ops, and replaces the
// pooling gradients TF.js computes wrongly (poolGrads.ts says which).
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter, depthwiseBackpropFilter, depthwiseBackpropInput } from './convGrads';
import { avgPoolBackprop, maxPoolBackprop } from './poolGrads';
import { pair, tapGeometry, type TapGeometry } from './patches';

type Inputs = Record<string, tf.TensorInfo | undefined>;
type Attrs = Record<string, any>;

/** Wraps an op-level function as a kernel. Inputs get an extra reference so disposing our wrappers never frees the caller's tensors. */
function opKernel(fn: (x: Record<string, tf.Tensor>, attrs: Attrs) => tf.Tensor): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const engine = tf.engine();
    const wrapped: Record<string, tf.Tensor> = {};
    for (const [k, info] of Object.entries(inputs as Inputs)) {
      if (!info) continue;
      wrapped[k] = engine.makeTensorFromTensorInfo(info, backend as tf.KernelBackend);
      (backend as tf.KernelBackend).incRef(info.dataId);
    }
    try {
      return tf.tidy(() => fn(wrapped, attrs as Attrs));
    } finally {
      for (const t of Object.values(wrapped)) t.dispose();
    }
  };
}

const KERNELS: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: opKernel(({ x, dy }, a) => {
    if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
    return conv2dBackpropFilter(x as tf.Tensor4D, dy as tf.Tensor4D, a.filterShape, a.strides, a.pad, 1, a.dimRoundingMode);
  }),
  DepthwiseConv2dNativeBackpropFilter: opKernel(({ x, dy }, a) =>
    depthwiseBackpropFilter(x as tf.Tensor4D, dy as tf.Tensor4D, a.filterShape, a.strides, a.pad, a.dilations, a.dimRoundingMode),
  ),
  DepthwiseConv2dNativeBackpropInput: opKernel(({ dy, filter }, a) =>
    depthwiseBackpropInput(a.inputShape, dy as tf.Tensor4D, filter as tf.Tensor4D, a.strides, a.pad, a.dilations, a.dimRoundingMode),
  ),
};

/** Idempotent; only fills kernels the backend does not have. Returns the names it registered. */
export function registerWasmKernels(backendName = 'wasm'): string[] {
  const added: string[] = [];
  for (const [kernelName, kernelFunc] of Object.entries(KERNELS)) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({ kernelName, backendName, kernelFunc });
    added.push(kernelName);
  }
  return added;
}

/** A pooling gradient on the backend's values, read and written through its public readSync/write; the input's
 *  values are read only when the gradient needs them (max pooling). */
function poolGradKernel(fn: (input: () => ArrayLike<number>, dy: ArrayLike<number>, g: TapGeometry) => Float32Array): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs as Inputs;
    const a = attrs as Attrs;
    const b = backend as tf.KernelBackend;
    const [kh, kw] = pair(a.filterSize);
    const g = tapGeometry(input!.shape, kh, kw, a.strides, 1, a.pad, a.dimRoundingMode);
    const dx = fn(() => b.readSync(input!.dataId) as Float32Array, b.readSync(dy!.dataId) as Float32Array, g);
    return { dataId: b.write(dx, input!.shape, 'float32'), shape: input!.shape, dtype: 'float32' };
  };
}
const maxPoolGrad = poolGradKernel((input, dy, g) => maxPoolBackprop(input(), dy, g)),
  avgPoolGrad = poolGradKernel((_input, dy, g) => avgPoolBackprop(dy, g));

/** Backend → kernels whose TF.js implementation disagrees with its own forward pass (tfjs 4.22; tfjs-node runs
 *  TensorFlow's, which are right). */
const REPLACED: Record<string, Record<string, tf.KernelFunc>> = {
  wasm: { MaxPoolGrad: maxPoolGrad, AvgPoolGrad: avgPoolGrad },
  cpu: { AvgPoolGrad: avgPoolGrad },
};
const replaced = new Set<string>();

/** TF's 'same' padding as explicit numbers (NHWC), where some dimension's kernel ends before the input does:
 *  (out − 1)·s + k_eff < in, out = ⌈in / s⌉ (e.g. a 6 × 6 input, a 2 × 2 kernel, stride 3). There TF pads nothing,
 *  while wasm's XNNPACK 'same' convolutions computed something else (off by ~2 on unit inputs, tfjs 4.22). */
export function explicitSamePadding(
  xShape: number[],
  filterShape: number[],
  strides: number | number[],
  dilations: number | number[] | undefined,
): [number, number][] | undefined {
  const [s, d] = [pair(strides), pair(dilations)];
  let short = false;
  const pads = [0, 1].map(i => {
    const n = xShape[i + 1],
      k = (filterShape[i] - 1) * d[i] + 1;
    const total = (Math.ceil(n / s[i]) - 1) * s[i] + k - n;
    if (total < 0) short = true;
    const t = Math.max(total, 0);
    return [Math.floor(t / 2), t - Math.floor(t / 2)] as [number, number];
  });
  return short ? [[0, 0], pads[0], pads[1], [0, 0]] : undefined;
}

/** The backend's own convolution, given explicit padding where its 'same' is wrong (explicitSamePadding). */
function sameAsExplicit(original: tf.KernelFunc): tf.KernelFunc {
  return args => {
    const a = args.attrs as Attrs;
    const { x, filter } = args.inputs as Inputs;
    const pad =
      a.pad === 'same' && (a.dataFormat ?? 'NHWC') === 'NHWC' && x && filter
        ? explicitSamePadding(x.shape, filter.shape, a.strides, a.dilations)
        : undefined;
    return original(pad ? { ...args, attrs: { ...a, pad } } : args);
  };
}
const SAME_PADDED: Record<string, string[]> = { wasm: ['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D'] };

/** Idempotent: swaps in this backend's REPLACED kernels and wraps its SAME_PADDED convolutions. Returns the names. */
export function replaceWrongKernels(backendName: string): string[] {
  const done: string[] = [];
  const wrapped = (SAME_PADDED[backendName] ?? []).flatMap(name => {
    const k = tf.getKernel(name, backendName);
    return k && !replaced.has(`${backendName}/${name}`) ? [[name, sameAsExplicit(k.kernelFunc)] as const] : [];
  });
  for (const [kernelName, kernelFunc] of [...Object.entries(REPLACED[backendName] ?? {}), ...wrapped]) {
    const key = `${backendName}/${kernelName}`;
    if (replaced.has(key)) continue;
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc });
    replaced.add(key);
    done.push(kernelName);
  }
  return done;
}
