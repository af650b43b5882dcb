// The loss the gradients are taken of: cross-entropy, on probabilities (softmax output) or on logits.
import { tf } from '../backend';
import { sampleCategorical } from '../data/random';

export const PROB_EPSILON = 1e-7; // Keras' epsilon: -log(clip(p, ε, 1 − ε))

/** Per-sample cross-entropy [B]: −log clip(p_y) for probability outputs, −log softmax(z)_y for logits. */
export function crossEntropy(out: tf.Tensor, labels: tf.Tensor1D, outputIsProbability: boolean): tf.Tensor1D {
  return tf.tidy(() => {
    const c = out.shape[out.shape.length - 1] as number;
    const o2 = out.reshape([-1, c]);
    const oneHot = tf.oneHot(labels, c).toFloat();
    const logp = outputIsProbability ? tf.log(tf.clipByValue(o2, PROB_EPSILON, 1 - PROB_EPSILON)) : tf.logSoftmax(o2);
    return tf.neg(tf.sum(tf.mul(oneHot, logp), 1)) as tf.Tensor1D;
  });
}

/** Class probabilities [B·C] of a model output (softmax of logits when needed). */
export function probabilities(out: tf.Tensor, outputIsProbability: boolean): Float32Array {
  const p = tf.tidy(() => {
    const c = out.shape[out.shape.length - 1] as number;
    return outputIsProbability ? out.reshape([-1, c]) : tf.softmax(out.reshape([-1, c]));
  });
  const v = p.dataSync() as Float32Array;
  p.dispose();
  return v;
}

/** y_n ~ p(·|x_n) with the seeded generator ("true" Fisher labels). */
export function sampleLabels(p: Float32Array, classes: number, rand: () => number): Int32Array {
  const b = p.length / classes;
  const y = new Int32Array(b);
  for (let n = 0; n < b; n++) y[n] = sampleCategorical(p, rand, n * classes, classes);
  return y;
}
