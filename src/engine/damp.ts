// damp 'auto': λ chosen from the data — one pruning step per candidate, the lowest calibration loss wins.
import { readKernel, writeKernel, type LoadedModel } from './model/load';
import type { Dataset } from './data/calibration';
import { perSampleGradients, type GradientSet } from './gradients/perSample';
import { evaluate, predictLabels } from './gradients/evaluate';
import { pruneStep, targetAt, type Timed } from './step';
import type { PrunableLayer, PruneOptions, PruneReport, RunHooks } from './types';

/** Candidate λ relative to the empirical Fisher's mean diagonal tr(F̂)/d (notes: judge λ by the Fisher's scale). */
export const DAMP_SEARCH = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
/** Extra decades tried past an edge of the grid while the edge keeps winning. */
export const DAMP_WIDEN = 3;

export type DampSearch = NonNullable<PruneReport['dampSearch']>;

export interface DampInput {
  model: LoadedModel;
  layers: PrunableLayer[];
  data: Dataset; // gradients come from these samples (labels dropped for the "true" Fisher)
  judge: Dataset; // the loss is measured here: its labels, or the dense model's own predictions
  options: PruneOptions;
  inverses: 'keep' | 'rebuild';
  hooks: RunHooks;
  timed: Timed;
  grid?: number[]; // candidates relative to the Fisher's mean diagonal (default DAMP_SEARCH)
}

export interface DampChoice {
  damp: number;
  grads: GradientSet;
  table: DampSearch;
}

/**
 * Prunes to the target once per candidate (one step, gradients computed once, the dense weights restored after
 * each) and keeps the λ with the lowest calibration loss. When the best is the grid's smallest or largest λ, the
 * grid grows a decade that way (up to DAMP_WIDEN times): a minimum at the edge is no minimum. Every candidate is
 * logged, and the choice with the searched range. The gradients are returned for the run's first step.
 */
export async function chooseDamp(input: DampInput): Promise<DampChoice> {
  const { model, layers, options, hooks, timed } = input;
  const emit = hooks.onEvent ?? (() => {});
  const dense = new Map(layers.map(l => [l.name, readKernel(model, l)]));
  const masks = new Map(layers.map(l => [l.name, Uint8Array.from(dense.get(l.name)!, v => (v === 0 ? 1 : 0))]));
  const grads = await timed('gradients', () =>
    perSampleGradients(model, layers, input.data, {
      seed: options.seed + 1,
      masks,
      signal: hooks.signal,
      onProgress: (done, total) => emit({ type: 'stage', stage: 'gradients', done, total, message: 'choosing λ' }),
    }),
  );
  const scale = fisherScale(grads);
  const judge = input.judge.labels ? input.judge : { ...input.judge, labels: await predictLabels(model, input.judge) };
  const grid = input.grid ?? DAMP_SEARCH;
  const table: DampSearch = [];
  const quiet: RunHooks = {
    signal: hooks.signal,
    onEvent: e => {
      if (e.type === 'stage') emit({ ...e, message: `choosing λ ${table.length + 1}/${Math.max(grid.length, table.length + 1)}` });
    },
  };
  const t0 = performance.now();
  const tryOne = async (relative: number) => {
    const damp = relative * scale;
    await pruneStep({
      model,
      layers,
      data: input.data,
      options,
      target: targetAt(options, 1, 1),
      damp,
      inverses: input.inverses,
      gradients: grads,
      hooks: quiet,
      timed,
    });
    const r = await timed('evaluate', () => evaluate(model, judge, { signal: hooks.signal }));
    table.push({ damp, relative, loss: r.loss, accuracy: r.accuracy });
    emit({ type: 'damp', damp, relative, loss: r.loss, accuracy: r.accuracy });
    emit({
      type: 'log',
      level: 'info',
      message: `λ search: ${relative} × mean diagonal (λ = ${damp.toExponential(2)}): calibration loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(1)}%`,
    });
    for (const l of layers) writeKernel(model, l, dense.get(l.name)!); // back to the dense weights
  };
  for (const relative of grid) await tryOne(relative);
  const bestOf = () => table.reduce((a, b) => (b.loss < a.loss ? b : a));
  const lo = () => Math.min(...table.map(t => t.relative)),
    hi = () => Math.max(...table.map(t => t.relative));
  for (let widened = 0; ; widened++) {
    const best = bestOf(),
      edge = best.relative === lo() ? 'smallest' : best.relative === hi() ? 'largest' : undefined;
    if (!edge) break;
    if (widened === DAMP_WIDEN) {
      emit({
        type: 'log',
        level: 'warn',
        message:
          `λ search: the ${edge} λ tried (${best.relative} × mean diagonal) is still the best after ${DAMP_WIDEN} more decades; ` +
          `the loss may keep falling ${edge === 'smallest' ? 'below' : 'above'} it: give --damp explicitly to go further`,
      });
      break;
    }
    const next = edge === 'smallest' ? lo() / 10 : hi() * 10;
    emit({
      type: 'log',
      level: 'info',
      message: `λ search: the best λ is the ${edge} tried; widening the grid to ${next} × mean diagonal`,
    });
    await tryOne(next);
  }
  table.sort((a, b) => a.relative - b.relative);
  const best = bestOf();
  emit({ type: 'damp', ...best, chosen: true });
  emit({
    type: 'log',
    level: 'info',
    message:
      `λ = ${best.damp.toExponential(2)} (${best.relative} × the Fisher's mean diagonal) had the lowest calibration loss, ${best.loss.toFixed(4)}, ` +
      `of ${table.length} candidates from ${lo()} to ${hi()} × (search: ${((performance.now() - t0) / 1000).toFixed(1)} s, one pruning step each)`,
  });
  return { damp: best.damp, grads, table };
}

/** tr(F̂)/d = Σ g² / (N d): the empirical Fisher's mean diagonal. */
function fisherScale(grads: GradientSet): number {
  let sum = 0,
    count = 0;
  for (const G of grads.grads.values()) {
    for (const g of G) sum += g * g;
    count += G.length;
  }
  return Math.max(sum / Math.max(1, count), 1e-30);
}
