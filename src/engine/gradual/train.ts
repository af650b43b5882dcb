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
