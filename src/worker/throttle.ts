// Stage progress can fire thousands of times a second; the host needs at most ~10/s.
// Stage events are coalesced (latest wins, one per interval); every other event goes out at once,
// after any pending stage event so the order stays meaningful.
import type { GradualEvent } from '../engine/types';

/** Events: a PruneEvent, or a gradual run's own (GradualEvent is the union of both). */
export interface EventForwarder<E extends GradualEvent = GradualEvent> {
  push(e: E): void;
  flush(): void;
  dispose(): void;
}

export function createEventForwarder<E extends GradualEvent>(send: (e: E) => void, intervalMs = 100): EventForwarder<E> {
  let pending: E | undefined;
  let lastSent: E | undefined;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending) {
      const e = pending;
      pending = undefined;
      last = Date.now();
      lastSent = e;
      send(e);
    }
  };

  return {
    push(e) {
      if (e.type === 'done' || e.type === 'gradualDone') return; // the worker sends the report in its own `done` message
      if (e.type !== 'stage') {
        flush();
        send(e);
        return;
      }
      const prev = pending ?? lastSent;
      const stageChanged = prev?.type !== 'stage' || prev.stage !== e.stage;
      if (stageChanged) {
        flush();
        lastSent = e;
        last = Date.now();
        send(e);
        return;
      } // a stage's end and the next one's start both go out
      pending = e;
      const wait = intervalMs - (Date.now() - last);
      if (wait <= 0) flush();
      else if (!timer) timer = setTimeout(flush, wait);
    },
    flush,
    dispose() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
