// Registers the conv backprop kernels the wasm backend lacks, implemented with wasm tensor ops, and replaces the
// pooling gradients TF.js computes wrongly (poolGrads.ts says which).
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter, depthwiseBackpropFilter, depthwiseBackpropInput } from './convGrads';
import { avgPoolBackprop, maxPoolBackprop } from './poolGrads';
import { tapGeometry } from './patches';

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

/** A pooling gradient on the input's values, read and written through the backend's public read/write. */
function poolGradKernel(
  fn: (x: ArrayLike<number>, dy: ArrayLike<number>, g: ReturnType<typeof tapGeometry>) => Float32Array,
): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs as Inputs;
    const a = attrs as Attrs;
    const b = backend as tf.KernelBackend;
    const [kh, kw] = typeof a.filterSize === 'number' ? [a.filterSize, a.filterSize] : a.filterSize;
    const g = tapGeometry(input!.shape, kh, kw, a.strides, 1, a.pad, a.dimRoundingMode);
    const dx = fn(b.readSync(input!.dataId) as Float32Array, b.readSync(dy!.dataId) as Float32Array, g);
    return { dataId: b.write(dx, input!.shape, 'float32'), shape: input!.shape, dtype: 'float32' };
  };
}

/** Backend → kernels whose TF.js implementation disagrees with its own forward pass (tfjs 4.22; tfjs-node runs
 *  TensorFlow's, which are right). */
const REPLACED: Record<string, Record<string, tf.KernelFunc>> = {
  wasm: {
    MaxPoolGrad: poolGradKernel(maxPoolBackprop),
    AvgPoolGrad: poolGradKernel((_x, dy, g) => avgPoolBackprop(dy, g)),
  },
  cpu: { AvgPoolGrad: poolGradKernel((_x, dy, g) => avgPoolBackprop(dy, g)) },
};
const replaced = new Set<string>();

/** Idempotent: swaps in this backend's REPLACED kernels. Returns the names it replaced. */
export function replaceWrongKernels(backendName: string): string[] {
  const done: string[] = [];
  for (const [kernelName, kernelFunc] of Object.entries(REPLACED[backendName] ?? {})) {
    const key = `${backendName}/${kernelName}`;
    if (replaced.has(key)) continue;
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc });
    replaced.add(key);
    done.push(kernelName);
  }
  return done;
}
