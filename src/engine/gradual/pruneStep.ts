// One pruning step of a gradual run: the one-shot step (step.ts) at the current weights, to the schedule's s_k —
// fresh gradients on calibration samples drawn from the training data, Fisher blocks, selection, OBS update.
import type { LoadedModel } from '../model/load';
import type { Dataset } from '../data/calibration';
import { pruneStep, type StepTarget } from '../step';
import { chooseDamp } from '../damp';
import { METHODS } from '../methods';
import type { LayerResult, PrunableLayer, PruneOptions, RunHooks } from '../types';

export interface GradualStepInput {
  model: LoadedModel;
  layers: PrunableLayer[]; // excluded layers left out
  calibration: Dataset; // drawn from the training data for this step
  options: PruneOptions; // method, blockSize, damp (a number, or 'auto': chosen again at this step), scope, update …
  target: StepTarget; // s_k overall, and each overridden layer's own s_k
  step: { k: number; of: number; label?: string }; // 1-based, for progress events and the gradient seed
  inverses: 'keep' | 'rebuild'; // the memory plan's strategy
  groups?: string[][]; // the memory plan's layer groups when gradients are streamed
  hooks: RunHooks;
}

/**
 * Prunes the model in place to the step's target, in `options.recompute` sub-steps from the current sparsity (fresh
 * gradients and inverses each, to stay near the weights where the quadratic model was taken); returns each layer's
 * result and the λ used.
 */
export async function gradualPruneStep(input: GradualStepInput & { from: StepTarget }): Promise<{ results: LayerResult[]; damp: number }> {
  const R = Math.max(1, input.options.recompute);
  let out: { results: LayerResult[]; damp: number } | undefined;
  for (let r = 1; r <= R; r++) {
    const at = (a: number, b: number) => a + ((b - a) * r) / R;
    const target: StepTarget =
      r === R
        ? input.target
        : {
            sparsity: at(input.from.sparsity, input.target.sparsity),
            layers: Object.fromEntries(Object.entries(input.target.layers).map(([n, s]) => [n, at(input.from.layers[n] ?? 0, s)])),
          };
    out = await subStep({ ...input, target });
  }
  return out!;
}

async function subStep(input: GradualStepInput): Promise<{ results: LayerResult[]; damp: number }> {
  const { model, layers, calibration, options, target, step, inverses, groups, hooks } = input;
  let damp = options.damp === 'auto' ? 1e-5 : options.damp; // magnitude methods: λ plays no part
  // The "true" Fisher: gradients at labels drawn from the model's own softmax (the given labels still judge λ), as in runPrune.
  const gradData = options.sampleLabels ? { ...calibration, labels: undefined } : calibration;
  let gradients;
  if (options.damp === 'auto' && METHODS[options.method].needsGradients) {
    const layerTargets = Object.fromEntries(
      Object.entries(options.layers).map(([n, ov]) => [n, ov.sparsity === undefined ? ov : { ...ov, sparsity: target.layers[n] }]),
    );
    const choice = await chooseDamp({
      model,
      layers,
      data: gradData,
      judge: calibration,
      options: { ...options, sparsity: target.sparsity, layers: layerTargets, recompute: 1 },
      inverses,
      hooks,
      timed: async (_stage, f) => f(),
    });
    damp = choice.damp;
    gradients = choice.grads;
  }
  const { results } = await pruneStep({
    model,
    layers,
    data: gradData,
    options: { ...options, recompute: 1 },
    target,
    damp,
    inverses,
    groups,
    gradients,
    step,
    hooks,
  });
  return { results, damp };
}
