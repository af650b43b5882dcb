// damp 'auto': λ chosen from the data — one pruning step per candidate, the lowest calibration loss wins.
import { readKernel, writeKernel, type LoadedModel } from './model/load';
import type { Dataset } from './data/calibration';
import { perSampleGradients, type GradientSet } from './gradients/perSample';
import { evaluate, predictLabels } from './gradients/evaluate';
import { pruneStep, targetAt, type Timed } from './step';
import type { PrunableLayer, PruneOptions, PruneReport, RunHooks } from './types';

/** Candidate λ relative to the empirical Fisher's mean diagonal tr(F̂)/d (notes: judge λ by the Fisher's scale). */
export const DAMP_SEARCH = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];

export type DampSearch = NonNullable<PruneReport['dampSearch']>;

export interface DampInput {
  model: LoadedModel;
  layers: PrunableLayer[];
  data: Dataset;                    // gradients come from these samples (labels dropped for the "true" Fisher)
  judge: Dataset;                   // the loss is measured here: its labels, or the dense model's own predictions
  options: PruneOptions;
  inverses: 'keep' | 'rebuild';
  hooks: RunHooks;
  timed: Timed;
}

export interface DampChoice { damp: number; grads: GradientSet; table: DampSearch }

/**
 * Prunes to the target once per candidate (one step, gradients computed once, the dense weights restored after
 * each) and keeps the λ with the lowest calibration loss. The gradients are returned for the run's first step.
 */
export async function chooseDamp(input: DampInput): Promise<DampChoice> {
  const { model, layers, options, hooks, timed } = input;
  const emit = hooks.onEvent ?? (() => {});
  const dense = new Map(layers.map(l => [l.name, readKernel(model, l)]));
  const masks = new Map(layers.map(l => [l.name, Uint8Array.from(dense.get(l.name)!, v => (v === 0 ? 1 : 0))]));
  const grads = await timed('gradients', () => perSampleGradients(model, layers, input.data, {
    seed: options.seed + 1, masks, signal: hooks.signal,
    onProgress: (done, total) => emit({ type: 'stage', stage: 'gradients', done, total, message: 'choosing λ' }),
  }));
  const scale = fisherScale(grads);
  const judge = input.judge.labels ? input.judge : { ...input.judge, labels: await predictLabels(model, input.judge) };
  const table: DampSearch = [];
  const quiet: RunHooks = {
    signal: hooks.signal,
    onEvent: e => { if (e.type === 'stage') emit({ ...e, message: `choosing λ ${table.length + 1}/${DAMP_SEARCH.length}` }); },
  };
  for (const relative of DAMP_SEARCH) {
    const damp = relative * scale;
    await pruneStep({
      model, layers, data: input.data, options, target: targetAt(options, 1, 1), damp, inverses: input.inverses,
      gradients: grads, hooks: quiet, timed,
    });
    const r = await timed('evaluate', () => evaluate(model, judge, { signal: hooks.signal }));
    table.push({ damp, relative, loss: r.loss, accuracy: r.accuracy });
    emit({ type: 'damp', damp, relative, loss: r.loss, accuracy: r.accuracy });
    for (const l of layers) writeKernel(model, l, dense.get(l.name)!);                // back to the dense weights
  }
  const best = table.reduce((a, b) => (b.loss < a.loss ? b : a));
  emit({ type: 'damp', ...best, chosen: true });
  emit({
    type: 'log', level: 'info',
    message: `λ = ${best.damp.toExponential(2)} (${best.relative} × the Fisher's mean diagonal) had the lowest calibration loss, ${best.loss.toFixed(4)}`,
  });
  return { damp: best.damp, grads, table };
}

/** tr(F̂)/d = Σ g² / (N d): the empirical Fisher's mean diagonal. */
function fisherScale(grads: GradientSet): number {
  let sum = 0, count = 0;
  for (const G of grads.grads.values()) { for (const g of G) sum += g * g; count += G.length; }
  return Math.max(sum / Math.max(1, count), 1e-30);
}
