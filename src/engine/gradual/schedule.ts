// When to prune and how far: the cubic schedule of Zhu & Gupta (2017), as in the WoodFisher paper's gradual runs.
//   s_k = s_f + (s_i − s_f)(1 − k/K)³,  k = 0 … K,  at epoch t_k = start + k·every  (t_K = end)
import { WoodFisherError } from '../types';

export interface ScheduleOptions {
  epochs: number; // E: training epochs in all (fine-tuning continues after the last pruning step)
  sparsity: number; // s_f: final sparsity
  initialSparsity: number; // s_i: the target of the first pruning step (k = 0)
  pruneStart: number; // epoch of the first pruning step (fractions allowed)
  pruneEnd: number; // epoch of the last pruning step, before E
  pruneEvery: number; // epochs between pruning steps
}

export interface PruningStep {
  k: number; // 0 … K
  epoch: number; // t_k (fractional epochs)
  iteration: number; // optimizer steps done before this pruning step: round(t_k · batches per epoch)
  sparsity: number; // s_k
}

/** s_k = s_f + (s_i − s_f)(1 − k/K)³; one step (K = 0) goes straight to s_f. */
export function cubicSparsity(initial: number, final: number, k: number, K: number): number {
  if (K === 0 || k === K) return final;
  return k === 0 ? initial : final + (initial - final) * (1 - k / K) ** 3;
}

/** Defaults that depend on the epochs: prune over the first half (four steps), fine-tune in the second. */
export function defaultSchedule(epochs: number): Pick<ScheduleOptions, 'pruneStart' | 'pruneEnd' | 'pruneEvery' | 'initialSparsity'> {
  const pruneEnd = epochs / 2;
  return { pruneStart: 0, pruneEnd, pruneEvery: pruneEnd / 3, initialSparsity: 0 };
}

const EPS = 1e-9;

export function validateSchedule(s: ScheduleOptions): void {
  const bad = (msg: string) => new WoodFisherError(msg, 'OPTIONS');
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw bad(`epochs must be a positive integer, got ${s.epochs}`);
  if (!(s.sparsity >= 0 && s.sparsity < 1)) throw bad(`sparsity must be in [0, 1), got ${s.sparsity}`);
  if (!(s.initialSparsity >= 0 && s.initialSparsity <= s.sparsity))
    throw bad(`initial sparsity must be in [0, ${s.sparsity}] (the final sparsity), got ${s.initialSparsity}`);
  if (!(s.pruneStart >= 0)) throw bad(`prune-start must be ≥ 0 (an epoch), got ${s.pruneStart}`);
  if (!(s.pruneEnd >= s.pruneStart)) throw bad(`prune-end (${s.pruneEnd}) must not come before prune-start (${s.pruneStart})`);
  if (!(s.pruneEnd < s.epochs))
    throw bad(
      `prune-end (${s.pruneEnd}) must come before the last epoch ends (${s.epochs}): the model needs fine-tuning after the last pruning step`,
    );
  if (s.pruneEnd > s.pruneStart && !(s.pruneEvery > 0)) throw bad(`prune-every must be a positive number of epochs, got ${s.pruneEvery}`);
}

/** The pruning steps of a run with `batchesPerEpoch` optimizer steps per epoch; the last one lands exactly on pruneEnd. */
export function pruningSteps(s: ScheduleOptions, batchesPerEpoch: number): PruningStep[] {
  validateSchedule(s);
  const span = s.pruneEnd - s.pruneStart;
  const K = span === 0 ? 0 : Math.max(1, Math.ceil(span / s.pruneEvery - EPS));
  const steps: PruningStep[] = [];
  for (let k = 0; k <= K; k++) {
    const epoch = k === K ? s.pruneEnd : s.pruneStart + k * s.pruneEvery;
    steps.push({ k, epoch, iteration: Math.round(epoch * batchesPerEpoch), sparsity: cubicSparsity(s.initialSparsity, s.sparsity, k, K) });
  }
  return steps;
}
