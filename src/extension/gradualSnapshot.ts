// Folds a gradual run's own events into the panel's snapshot (pure, testable without VS Code); the events it shares
// with one-shot runs (stage, plan, layer, eval, log) go through applyEvent as before.
import type { GradualEvent, GradualReport, GradualView, PanelSnapshot, PruneEvent, PruneReport } from '../protocol';

const GRADUAL_ONLY = new Set(['schedule', 'epoch', 'pruningStep', 'checkpoint', 'gradualDone']);

export function isGradualOnly(e: GradualEvent): e is Exclude<GradualEvent, PruneEvent> {
  return GRADUAL_ONLY.has(e.type);
}

const empty = (): GradualView => ({ epochs: [], steps: [] });

export function applyGradualEvent(s: PanelSnapshot, e: Exclude<GradualEvent, PruneEvent>): PanelSnapshot {
  const g = s.gradual ?? empty();
  switch (e.type) {
    case 'schedule':
      return { ...s, gradual: { ...g, schedule: e.schedule } };
    case 'epoch':
      return {
        ...s,
        gradual: { ...g, epochs: [...g.epochs.filter(x => x.epoch !== e.record.epoch), e.record] },
        after: e.record.eval ?? s.after,
      };
    case 'pruningStep': {
      const r = e.record;
      const step = { k: r.k, epoch: r.epoch, target: r.target, achieved: r.achieved, accuracy: r.eval?.accuracy, skipped: r.skipped };
      return { ...s, gradual: { ...g, steps: [...g.steps.filter(x => x.k !== r.k), step] }, damp: r.damp ?? s.damp };
    }
    case 'checkpoint':
      return { ...s, gradual: { ...g, checkpoint: e.epoch } };
    case 'gradualDone':
      return s; // the worker's own `done` message carries the report
  }
}

/** The view of a finished (or checkpointed) run's report.json: a restored panel shows the whole history. */
export function gradualViewOf(r: PruneReport | GradualReport): GradualView | undefined {
  if (!('gradual' in r)) return undefined;
  const g = r.gradual;
  return {
    schedule: g.schedule,
    epochs: g.epochs,
    finished: g.finished,
    checkpoint: g.finished ? undefined : g.epochs.length,
    steps: g.steps.map(x => ({
      k: x.k,
      epoch: x.epoch,
      target: x.target,
      achieved: x.achieved,
      accuracy: x.eval?.accuracy,
      skipped: x.skipped,
    })),
  };
}
