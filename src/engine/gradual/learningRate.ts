// Learning rate at optimizer step t of T (all epochs): cosine, step or constant.
import type { LrSchedule } from '../types';

/** Step schedule: ×0.1 after half of the run and again after three quarters. */
export const STEP_MILESTONES = [0.5, 0.75];
export const STEP_FACTOR = 0.1;

/** cosine: η_t = η₀ · ½(1 + cos(π t/T)); step: η₀ · 0.1^(milestones passed); constant: η₀. */
export function learningRate(kind: LrSchedule, base: number, t: number, T: number): number {
  if (kind === 'cosine') return base * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, T)) / Math.max(1, T)));
  if (kind === 'step') return base * STEP_FACTOR ** STEP_MILESTONES.filter(m => t >= m * T).length;
  return base;
}
