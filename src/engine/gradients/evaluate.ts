// Accuracy and mean cross-entropy of a model on a labelled dataset.
import { tf } from '../backend';
import { WoodFisherError, type EvalResult, type RunHooks } from '../types';
import type { LoadedModel } from '../model/load';
import type { Dataset } from '../data/calibration';
import { crossEntropy } from './loss';

export async function evaluate(m: LoadedModel, data: Dataset, opts: { signal?: AbortSignal; batchSize?: number } = {}): Promise<EvalResult> {
  if (!data.labels) throw new WoodFisherError(`Evaluation needs labels (${data.source} has none).`, 'LABELS');
  const per = data.shape.slice(1);
  const perSize = per.reduce((a, b) => a * b, 1);
  const bs = Math.max(1, opts.batchSize ?? Math.max(1, Math.min(1024, Math.floor(4e6 / perSize))));
  let correct = 0, loss = 0;
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

/** The model's own top-1 predictions: labels for judging a pruned model against the dense one when data has none. */
export async function predictLabels(m: LoadedModel, data: Dataset): Promise<Int32Array> {
  const per = data.shape.slice(1);
  const perSize = per.reduce((a, b) => a * b, 1);
  const bs = Math.max(1, Math.min(1024, Math.floor(4e6 / perSize)));
  const labels = new Int32Array(data.count);
  for (let s = 0; s < data.count; s += bs) {
    const b = Math.min(bs, data.count - s);
    const pred = tf.tidy(() => tf.argMax((m.model.predict(tf.tensor(data.x.subarray(s * perSize, (s + b) * perSize), [b, ...per])) as tf.Tensor).reshape([b, -1]), 1));
    labels.set(pred.dataSync() as Int32Array, s);
    pred.dispose();
  }
  return labels;
}

/** evaluate() between 'evaluate' stage events, then an 'eval' event (the panel's before / after). */
export async function evaluateStage(m: LoadedModel, data: Dataset, which: 'before' | 'after', hooks: RunHooks): Promise<EvalResult> {
  hooks.onEvent?.({ type: 'stage', stage: 'evaluate', done: 0, total: 1, message: which });
  const result = await evaluate(m, data, { signal: hooks.signal });
  hooks.onEvent?.({ type: 'eval', which, result });
  hooks.onEvent?.({ type: 'stage', stage: 'evaluate', done: 1, total: 1, message: which });
  return result;
}
