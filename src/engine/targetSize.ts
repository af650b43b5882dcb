// --target-size: the sparsity and encoding that fit a download budget (gzip bytes of model.json + shards) with the
// least calibration loss. Per encoding e:
//   1. s_e = the least sparsity whose written model fits, by bisection on a cheap stand-in (the dense weights with the
//      smallest |w| set to 0, encoded and gzipped: gzip size depends on how many zeros there are, hardly on which);
//   2. one real pruning step to s_e (gradients computed once, shared), encoded as written, its gzip size measured —
//      if it still overshoots, s_e moves up (twice the overshoot's share of the weights left, at least 0.25%, then
//      0.5%, 1%) and the step is redone (at most 3 times);
//   3. the calibration loss of the weights as written.
// The encoding whose fitting model has the lowest loss wins; the dense weights are restored after every candidate.
import { currentWeights, type LoadedModel } from './model/load';
import { encodeModel, type EncodedModel } from './model/encode';
import { chooseEncodings, quantizeForOutput } from './model/quantize';
import { gzipSize } from './model/size';
import type { Dataset } from './data/calibration';
import { perSampleGradients, type GradientSet } from './gradients/perSample';
import { evaluate, predictLabels } from './gradients/evaluate';
import { needsGradients } from './methods';
import { pruneStep, targetAt, type Timed } from './step';
import { formatBytes } from './report/bytes';
import { WoodFisherError, type PrunableLayer, type PruneOptions, type QuantizeMode, type RunHooks, type TargetSizeReport } from './types';

/** Encodings tried when --quantize is not given (each is a whole-model choice; layer overrides still apply). */
export const TARGET_ENCODINGS: readonly QuantizeMode[] = ['none', 'float16', 'uint16', 'uint8'];
export const MAX_SPARSITY = 0.995;
const BISECTION_STEPS = 10; // sparsity to within 0.995 / 2¹⁰ ≈ 0.001
const REFITS = 3;

export interface TargetSizeInput {
  model: LoadedModel;
  layers: PrunableLayer[];
  data?: Dataset; // calibration set (gradients); undefined for magnitude methods
  judge?: Dataset; // calibration loss measured here (labels, or the dense model's own predictions)
  options: PruneOptions; // options.targetSize is the budget; options.quantize, if given, fixes the encoding
  damp: number;
  inverses: 'keep' | 'rebuild';
  hooks: RunHooks;
  timed: Timed;
}

export interface TargetSizeChoice {
  sparsity: number;
  quantize: QuantizeMode;
  grads?: GradientSet;
  report: TargetSizeReport;
}

/** gzip bytes of an encoded model as served: model.json and every shard, each compressed on its own. */
export function encodedGzip(e: EncodedModel): number {
  return gzipSize(new TextEncoder().encode(e.modelJson)) + e.shards.reduce((a, s) => a + gzipSize(s.bytes), 0);
}

export async function chooseTargetSize(input: TargetSizeInput): Promise<TargetSizeChoice> {
  const { model, layers, options, hooks, timed } = input;
  const budget = options.targetSize!;
  const emit = hooks.onEvent ?? (() => {});
  const layerModes = Object.fromEntries(Object.entries(options.layers).map(([k, v]) => [k, v.quantize])); // as outputForRun
  const modes = options.quantize !== undefined ? [options.quantize] : TARGET_ENCODINGS;
  const snapshot = model.model.getWeights().map(t => t.clone());
  const restore = () => model.model.setWeights(snapshot);
  const { weights: dense, json } = await currentWeights(model);
  const kernels = new Set(layers.map(l => l.weightName));

  // 1. the stand-in: magnitude pruning of the dense kernels to s, encoded with mode, gzipped
  const kernelValues = dense.filter(w => kernels.has(w.spec.name) && w.values).map(w => w.values!);
  const allKernel = new Float32Array(kernelValues.reduce((a, v) => a + v.length, 0));
  {
    let o = 0;
    for (const v of kernelValues) for (let i = 0; i < v.length; i++) allKernel[o++] = Math.abs(v[i]);
  }
  allKernel.sort();
  const standIn = (s: number, mode: QuantizeMode): number => {
    const cut = s > 0 ? allKernel[Math.min(allKernel.length - 1, Math.floor(s * allKernel.length))] : -1;
    const pruned = dense.map(w =>
      kernels.has(w.spec.name) && w.values ? { ...w, values: w.values.map(v => (Math.abs(v) < cut ? 0 : v)) } : w,
    );
    return encodedGzip(encodeModel(pruned, chooseEncodings(model, mode, layerModes), json, model.inputWeights));
  };
  const leastFitting = (mode: QuantizeMode): number | undefined => {
    if (standIn(0, mode) <= budget) return 0;
    if (standIn(MAX_SPARSITY, mode) > budget) return undefined;
    let lo = 0,
      hi = MAX_SPARSITY;
    for (let i = 0; i < BISECTION_STEPS; i++) {
      const mid = (lo + hi) / 2;
      if (standIn(mid, mode) <= budget) hi = mid;
      else lo = mid;
    }
    return hi;
  };

  const grads =
    input.data && needsGradients(options.method)
      ? await timed('gradients', () =>
          perSampleGradients(model, layers, input.data!, {
            seed: options.seed + 1,
            signal: hooks.signal,
            masks: new Map(
              layers.map(l => [l.name, Uint8Array.from(dense.find(w => w.spec.name === l.weightName)!.values!, v => (v === 0 ? 1 : 0))]),
            ),
            onProgress: (done, total) => emit({ type: 'stage', stage: 'gradients', done, total, message: 'fitting the target size' }),
          }),
        )
      : undefined;
  const judge = input.judge && (input.judge.labels ? input.judge : { ...input.judge, labels: await predictLabels(model, input.judge) });

  const candidates: TargetSizeReport['candidates'] = [];
  for (const [i, mode] of modes.entries()) {
    const quiet: RunHooks = {
      signal: hooks.signal,
      onEvent: e => {
        if (e.type === 'stage') emit({ ...e, message: `fitting ${formatBytes(budget)}: ${mode} (${i + 1}/${modes.length})` });
      },
    };
    let s = await timed('save', () => leastFitting(mode));
    if (s === undefined) {
      candidates.push({ quantize: mode, fits: false });
      continue;
    }
    let gzip = Infinity,
      loss = NaN,
      accuracy = NaN;
    for (let attempt = 0; attempt <= REFITS; attempt++) {
      if (s > 0) {
        await pruneStep({
          model,
          layers,
          data: input.data,
          options: { ...options, sparsity: s },
          target: targetAt({ ...options, sparsity: s }, 1, 1),
          damp: input.damp,
          inverses: input.inverses,
          gradients: grads,
          hooks: quiet,
          timed,
        });
      }
      const encoded = await timed('save', () => quantizeForOutput(model, mode, layerModes));
      gzip = encodedGzip(encoded);
      if (judge) ({ loss, accuracy } = await timed('evaluate', () => evaluate(model, judge, { signal: hooks.signal })));
      restore();
      if (gzip <= budget || s >= MAX_SPARSITY) break;
      // overshoot by x%: prune 2x% more of what is left, and at least 0.25%, 0.5%, 1% more sparsity
      s = Math.min(MAX_SPARSITY, s + Math.max(2 * (1 - s) * (1 - budget / gzip), 0.0025 * 2 ** attempt));
    }
    const fits = gzip <= budget;
    candidates.push({ quantize: mode, fits, sparsity: s, gzip, loss, accuracy });
    emit({
      type: 'log',
      level: 'info',
      message: `target ${formatBytes(budget)}: ${mode} fits at ${(s * 100).toFixed(1)}% sparsity (${formatBytes(gzip)} gzip), calibration loss ${loss.toFixed(4)}`,
    });
  }
  for (const t of snapshot) t.dispose();
  const fitting = candidates.filter(c => c.fits);
  if (fitting.length === 0) {
    throw new WoodFisherError(
      `no model of ${formatBytes(budget)} or less (gzip) is within reach: even ${(MAX_SPARSITY * 100).toFixed(1)}% sparsity in ${modes.join(', ')} is larger; raise --target-size${options.quantize !== undefined ? ' or drop --quantize' : ''}`,
      'OPTIONS',
    );
  }
  // least calibration loss; without a judge (no data), the least sparsity
  const best = fitting.reduce((a, b) => ((judge ? b.loss! < a.loss! : b.sparsity! < a.sparsity!) ? b : a));
  return {
    sparsity: best.sparsity!,
    quantize: best.quantize,
    grads,
    report: { budget, chosen: { sparsity: best.sparsity!, quantize: best.quantize }, candidates },
  };
}
