// Registers the conv backprop kernels the wasm backend lacks, implemented with wasm tensor ops.
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter, depthwiseBackpropFilter, depthwiseBackpropInput } from './convGrads';

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
