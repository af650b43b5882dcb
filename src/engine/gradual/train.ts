// Fine-tuning steps on TF.js: the model in training mode (BatchNorm on batch statistics, updating its moving
// averages; Dropout active), cross-entropy on a mini-batch, one masked optimizer step.
import { tf } from '../backend';
import type { LoadedModel } from '../model/load';
import { crossEntropy } from '../gradients/loss';
import { WoodFisherError, type PrunableLayer } from '../types';
import type { MaskedOptimizer } from './optimizer';

/** The model's trainable variables, and for each prunable layer the index of its kernel among them (−1: frozen). */
export function trainableVariables(
  m: LoadedModel,
  prunable: PrunableLayer[],
): { variables: tf.Variable[]; kernelIndex: Map<string, number> } {
  const weights = m.model.trainableWeights;
  const variables = weights.map(w => w.read() as tf.Variable);
  const kernelIndex = new Map(prunable.map(l => [l.name, weights.indexOf(m.model.getLayer(l.name).weights[0])]));
  return { variables, kernelIndex };
}

export interface BatchResult {
  loss: number;
  correct: number;
}

/** One optimizer step on a batch x [b, ...] with labels y [b]: returns the batch's summed loss and correct count. */
export function trainStep(
  m: LoadedModel,
  opt: MaskedOptimizer,
  x: Float32Array,
  rowShape: number[],
  y: Int32Array,
  lr: number,
): BatchResult {
  const b = y.length;
  const xs = tf.tensor(x, [b, ...rowShape], 'float32');
  const ys = tf.tensor1d(y, 'int32');
  let correct: tf.Tensor | undefined;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = m.model.apply(xs, { training: true }) as tf.Tensor;
      const o2 = out.reshape([b, -1]);
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(o2, 1), ys), 'float32')));
      return tf.mean(crossEntropy(o2, ys, m.outputIsProbability)) as tf.Scalar;
    }, opt.variables);
    const loss = value.dataSync()[0] * b;
    if (!Number.isFinite(loss)) {
      tf.dispose([value, ...Object.values(grads)]);
      throw new WoodFisherError('training diverged (the loss is not finite); lower --lr', 'NUMERIC');
    }
    opt.apply(
      opt.variables.map(v => grads[v.name]),
      lr,
    );
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, correct: correct!.dataSync()[0] };
  } finally {
    tf.dispose([xs, ys]);
    correct?.dispose();
  }
}

/**
 * TF.js memory at the peak of one training step on `batch` samples: measured (tf.profile) on batches of 1 and 2 and
 * extrapolated, peak(b) = fixed + b · per sample (activations and their gradients grow with b, the weights' gradients
 * do not). BatchNorm runs in training mode as in trainStep; its moving statistics are restored, no weight changes.
 */
export async function trainingStepBytes(m: LoadedModel, rowShape: number[], batch: number): Promise<number> {
  const variables = m.model.trainableWeights.map(w => w.read() as tf.Variable);
  const stats = m.model.nonTrainableWeights.map(w => tf.keep(w.read().clone()));
  // tf.profile's peakBytes counts every live tensor (the weights too, which the plan counts apart): only the rise
  const peak = async (b: number) =>
    -tf.memory().numBytes +
    (
      await tf.profile(() => {
        const xs = tf.zeros([b, ...rowShape]);
        const ys = tf.zeros([b], 'int32') as tf.Tensor1D;
        const { value, grads } = tf.variableGrads(() => {
          const out = m.model.apply(xs, { training: true }) as tf.Tensor;
          return tf.mean(crossEntropy(out.reshape([b, -1]), ys, m.outputIsProbability)) as tf.Scalar;
        }, variables);
        tf.dispose([xs, ys, value, ...Object.values(grads)]);
      })
    ).peakBytes;
  try {
    const one = await peak(1),
      two = await peak(2);
    const perSample = Math.max(0, two - one);
    return Math.ceil(one - perSample + perSample * batch);
  } finally {
    m.model.nonTrainableWeights.forEach((w, i) => w.write(stats[i]));
    tf.dispose(stats);
  }
}
