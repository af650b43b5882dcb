// A sparsity sweep in the worker: the engine's runSweep (one-shot, or gradual with the message's schedule), each point
// forwarded as soon as its run is saved.
import type { EvalResult, PruneEvent, SizeFigures } from '../engine/types';
import type { StartSweepMessage, SweepPoint } from '../protocol';

interface SweepHooks {
  onEvent: (e: PruneEvent) => void;
  signal: AbortSignal;
  onPoint: (p: SweepPoint) => void;
}

export async function runSweepJob(
  msg: StartSweepMessage,
  hooks: SweepHooks,
): Promise<{ points: SweepPoint[]; baseline?: EvalResult; inputSize?: SizeFigures }> {
  const { runSweep } = await import('../engine/sweep'); // lazily, like runPrune: `ready` goes out before TF.js loads
  const result = await runSweep(
    msg.options,
    msg.sparsities,
    msg.methods,
    {
      onEvent: hooks.onEvent,
      signal: hooks.signal,
      onPoint: point => hooks.onPoint(point),
      onRun: ({ method, sparsity }) =>
        hooks.onEvent({
          type: 'log',
          level: 'info',
          message: `sweep: ${msg.gradual ? 'gradual ' : ''}${method} at ${(sparsity * 100).toFixed(1)}%`,
        }),
    },
    msg.gradual,
  );
  return { points: result.points, baseline: result.dense, inputSize: result.inputSize };
}
