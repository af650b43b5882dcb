// How far a job is, for its progress notification: a fraction of the whole job and the line it shows. Pure (no vscode).
import { stageLabel, type GradualEvent, type Stage } from '../protocol';

type StageEvent = Extract<GradualEvent, { type: 'stage' }>;

// The one-shot pipeline's stages in order.
const STAGES: Stage[] = ['load', 'gradients', 'blocks', 'selection', 'update', 'evaluate', 'save'];

export interface JobShape {
  mode: 'prune' | 'gradual' | 'sweep';
  /** A sweep's runs (sparsities × methods); each a gradual run when `gradual`. */
  runs?: number;
  gradual?: boolean;
}

/**
 * A stage event → the fraction of the job done and the notification's line. One run: a one-shot run advances by stage,
 * a gradual run by epochs (its train stage: epoch e of E, batch b of B; its pruning steps say what they do without
 * moving it). A sweep: `runsDone` whole runs plus the current run's fraction. Never below `shown` (stages repeat: λ
 * search, sub-steps, pruning steps), which the line's percent also is.
 */
export function jobProgress(job: JobShape, e: StageEvent, runsDone = 0, shown = 0): { fraction: number; message: string } {
  const gradual = job.mode === 'gradual' || (job.mode === 'sweep' && !!job.gradual);
  const within = gradual
    ? e.stage === 'train'
      ? ((e.step ?? 1) - 1 + (e.total > 0 ? e.done / e.total : 0)) / (e.steps ?? 1)
      : undefined
    : (Math.max(0, STAGES.indexOf(e.stage)) + (e.total > 0 ? e.done / e.total : 0)) / STAGES.length;
  const runs = job.mode === 'sweep' ? Math.max(1, job.runs ?? 1) : 1;
  const run = Math.min(runsDone, runs - 1); // the run under way (0-based)
  const fraction = Math.min(1, Math.max(shown, within === undefined ? run / runs : (run + within) / runs));
  const what =
    e.stage === 'train' && e.steps
      ? `epoch ${e.step ?? 1}/${e.steps}, batch ${e.done}/${e.total}` // the train event's "train 5/16 (step 3/6) — epoch 3/6", plainly
      : stageLabel(e);
  return { fraction, message: [...(runs > 1 ? [`run ${run + 1}/${runs}`] : []), what, `${Math.floor(fraction * 100)}%`].join(' · ') };
}
