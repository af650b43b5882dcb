// Accuracy and mean cross-entropy of a model on a labelled dataset; on unlabeled data, agreement with the dense model's
// predictions and the KL divergence from its distribution.
import { tf } from '../backend';
import { WoodFisherError, type EvalResult, type RunHooks } from '../types';
import type { LoadedModel } from '../model/load';
import type { Dataset } from '../data/calibration';
import { crossEntropy, probabilities, PROB_EPSILON } from './loss';

export async function evaluate(
  m: LoadedModel,
  data: Dataset,
  opts: { signal?: AbortSignal; batchSize?: number; dense?: Float32Array } = {},
): Promise<EvalResult> {
  if (!data.labels && opts.dense) return agreement(m, data, opts.dense, opts.signal);
  if (!data.labels) throw new WoodFisherError(`Evaluation needs labels (${data.source} has none).`, 'LABELS');
  const per = data.shape.slice(1);
  const perSize = per.reduce((a, b) => a * b, 1);
  const bs = Math.max(1, opts.batchSize ?? Math.max(1, Math.min(1024, Math.floor(4e6 / perSize))));
  let correct = 0,
    loss = 0;
  for (let s = 0; s < data.count; s += bs) {
    if (opts.signal?.aborted) throw new WoodFisherError('Cancelled', 'CANCELLED');
    const b = Math.min(bs, data.count - s);
    const y = data.labels.subarray(s, s + b);
    const [pred, l] = tf.tidy(() => {
      const out = m.model.predict(tf.tensor(data.x.subarray(s * perSize, (s + b) * perSize), [b, ...per])) as tf.Tensor;
      const o2 = out.reshape([b, -1]);
      return [tf.argMax(o2, 1), tf.sum(crossEntropy(o2, tf.tensor1d(y, 'int32'), m.outputIsProbability))];
    });
    const p = pred.dataSync();
    for (let i = 0; i < b; i++) if (p[i] === y[i]) correct++;
    loss += l.dataSync()[0];
    tf.dispose([pred, l]);
    await new Promise<void>(r => setImmediate(r));
  }
  return { accuracy: correct / data.count, loss: loss / data.count, samples: data.count };
}

/** Class probabilities of every sample, M × C (the dense model's, kept to judge the pruned one on unlabeled data). */
export async function predictProbabilities(m: LoadedModel, data: Dataset, signal?: AbortSignal): Promise<Float32Array> {
  const per = data.shape.slice(1),
    perSize = per.reduce((a, b) => a * b, 1);
  const bs = Math.max(1, Math.min(1024, Math.floor(4e6 / perSize)));
  const out = new Float32Array(data.count * m.numClasses);
  for (let s = 0; s < data.count; s += bs) {
    if (signal?.aborted) throw new WoodFisherError('Cancelled', 'CANCELLED');
    const b = Math.min(bs, data.count - s);
    const o = m.model.predict(tf.tensor(data.x.subarray(s * perSize, (s + b) * perSize), [b, ...per])) as tf.Tensor;
    try {
      out.set(probabilities(o, m.outputIsProbability), s * m.numClasses);
    } finally {
      o.dispose();
    }
    await new Promise<void>(r => setImmediate(r));
  }
  return out;
}

/** Top-1 agreement with the dense model and mean KL(p_dense ‖ p) = Σ_c p_dense,c (log p_dense,c − log p_c). */
async function agreement(m: LoadedModel, data: Dataset, dense: Float32Array, signal?: AbortSignal): Promise<EvalResult> {
  const p = await predictProbabilities(m, data, signal),
    C = m.numClasses;
  let agree = 0,
    kl = 0;
  const log = (x: number) => Math.log(Math.max(x, PROB_EPSILON));
  for (let i = 0; i < data.count; i++) {
    let a = 0,
      b = 0;
    for (let c = 0; c < C; c++) {
      const q = dense[i * C + c];
      if (q > dense[i * C + a]) a = c;
      if (p[i * C + c] > p[i * C + b]) b = c;
      if (q > 0) kl += q * (log(q) - log(p[i * C + c]));
    }
    if (a === b) agree++;
  }
  return { accuracy: agree / data.count, loss: kl / data.count, samples: data.count, reference: 'dense' };
}

/** The model's own top-1 predictions: labels for judging a pruned model against the dense one when data has none. */
export async function predictLabels(m: LoadedModel, data: Dataset): Promise<Int32Array> {
  const per = data.shape.slice(1);
  const perSize = per.reduce((a, b) => a * b, 1);
  const bs = Math.max(1, Math.min(1024, Math.floor(4e6 / perSize)));
  const labels = new Int32Array(data.count);
  for (let s = 0; s < data.count; s += bs) {
    const b = Math.min(bs, data.count - s);
    const pred = tf.tidy(() =>
      tf.argMax(
        (m.model.predict(tf.tensor(data.x.subarray(s * perSize, (s + b) * perSize), [b, ...per])) as tf.Tensor).reshape([b, -1]),
        1,
      ),
    );
    labels.set(pred.dataSync() as Int32Array, s);
    pred.dispose();
  }
  return labels;
}

/** evaluate() between 'evaluate' stage events, then an 'eval' event (the panel's before / after). */
export async function evaluateStage(
  m: LoadedModel,
  data: Dataset,
  which: 'before' | 'after',
  hooks: RunHooks,
  dense?: Float32Array,
): Promise<EvalResult> {
  hooks.onEvent?.({ type: 'stage', stage: 'evaluate', done: 0, total: 1, message: which });
  const result = await evaluate(m, data, { signal: hooks.signal, dense });
  hooks.onEvent?.({ type: 'eval', which, result });
  hooks.onEvent?.({ type: 'stage', stage: 'evaluate', done: 1, total: 1, message: which });
  return result;
}
