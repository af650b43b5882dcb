// What an evaluation's two numbers are called: against labels, accuracy and cross-entropy; without labels, the top-1
// agreement with the dense model's predictions and the mean KL(dense ‖ pruned) (gradients/evaluate.ts).
import type { EvalResult } from '../types';

export interface EvalTerms {
  score: string; // 'accuracy' | 'agreement'
  loss: string; // 'loss' | 'KL'
  against: string; // '' | 'no labels: against the dense model'
}

export function evalTerms(r: Pick<EvalResult, 'reference'> | undefined): EvalTerms {
  return r?.reference === 'dense'
    ? { score: 'agreement', loss: 'KL', against: 'no labels: against the dense model' }
    : { score: 'accuracy', loss: 'loss', against: '' };
}
