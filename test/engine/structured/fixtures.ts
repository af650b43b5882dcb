// Small real TF.js models with the structures structured pruning must get right.
import { tf } from '../../../src/engine/backend';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const bias = (seed: number) => tf.initializers.randomNormal({ stddev: 0.2, seed });

/** Random, non-trivial BatchNormalization statistics (a fresh layer has μ = 0, σ² = 1). */
export function randomizeBatchNorm(model: tf.LayersModel, seed = 7): void {
  let s = seed;
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const ws = l.getWeights().map((w, i) =>
      tf.tidy(() => {
        const r = tf.randomUniform(w.shape, 0, 1, 'float32', s++);
        return i === 3 ? r.add(0.5) : i === 0 ? r.add(0.5) : r.sub(0.5); // γ, β, μ, σ²
      }),
    );
    l.setWeights(ws);
    tf.dispose(ws);
  }
}

/**
 * Inverted-residual blocks (MobileNetV2 style: 1×1 expand → BN → ReLU6 → depthwise 3×3 → BN → ReLU6 → 1×1 project → BN,
 * residual Add), then an Inception-like Concatenate of a 1×1 and a 3×3 branch, global pooling and two Dense layers.
 */
export function residualConcatNet(seed = 1): tf.LayersModel {
  let k = seed;
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = (x: tf.SymbolicTensor, filters: number, size: number, useBias = false) =>
    tf.layers
      .conv2d({ filters, kernelSize: size, padding: 'same', useBias, kernelInitializer: init(k++), biasInitializer: bias(k++) })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  const relu6 = (x: tf.SymbolicTensor) => tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  const block = (x: tf.SymbolicTensor, expand: number, out: number) => {
    let h = relu6(bn(conv(x, expand, 1)));
    h = relu6(
      bn(
        tf.layers
          .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(k++) })
          .apply(h) as tf.SymbolicTensor,
      ),
    );
    return bn(conv(h, out, 1));
  };
  const stem = relu6(bn(conv(input, 6, 3)));
  const b1 = block(stem, 12, 6);
  const r1 = tf.layers.add().apply([stem, b1]) as tf.SymbolicTensor; // stem's channels tied to b1's projection
  const b2 = block(r1, 12, 6);
  const r2 = tf.layers.add().apply([r1, b2]) as tf.SymbolicTensor;
  const br1 = tf.layers.activation({ activation: 'relu' }).apply(conv(r2, 4, 1, true)) as tf.SymbolicTensor;
  const br2 = tf.layers.activation({ activation: 'relu' }).apply(conv(r2, 5, 3, true)) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate().apply([br1, br2]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(cat) as tf.SymbolicTensor;
  const fc = tf.layers
    .dense({ units: 7, activation: 'relu', kernelInitializer: init(k++), biasInitializer: bias(k++) })
    .apply(pooled) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(k++) }).apply(fc) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  randomizeBatchNorm(model, seed);
  return model;
}

/** Sequential CNN like the bundled example: Conv2D + bias → MaxPooling → Flatten → Dense → Dense softmax. */
export function flattenCnn(seed = 1): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [6, 6, 2],
      filters: 5,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(seed),
      biasInitializer: bias(seed + 1),
    }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 6, activation: 'relu', kernelInitializer: init(seed + 2), biasInitializer: bias(seed + 3) }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(seed + 4) }));
  return m;
}
