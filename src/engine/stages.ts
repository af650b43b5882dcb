// How a stage event reads, in the terminal, the progress notification and the panel alike:
// "blocks fc1 12/40 (step 2/3) — message". Pure (no imports but types): the webview gets it through src/protocol.ts.
import type { PruneEvent } from './types';

export type StageEvent = Extract<PruneEvent, { type: 'stage' }>;

export function stageLabel(e: StageEvent, show: { counts?: boolean; message?: boolean } = {}): string {
  const { counts = true, message = true } = show;
  const layer = e.layer ? ` ${e.layer}` : '';
  const of = counts && e.total > 0 ? ` ${e.done}/${e.total}` : '';
  const shown = message && e.message ? e.message : '';
  // "train 5/16 — epoch 3/6", not "train 5/16 (step 3/6) — epoch 3/6": the message already counts the steps
  const k = `${e.step ?? 1}/${e.steps}`;
  const step = e.steps && e.steps > 1 && !new RegExp(`(^|\\D)${k}(\\D|$)`).test(shown) ? ` (step ${k})` : '';
  return `${e.stage}${layer}${of}${step}${shown ? ` — ${shown}` : ''}`;
}
