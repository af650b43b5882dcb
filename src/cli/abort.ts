// Ctrl-C (SIGINT) or SIGTERM cancels the run through an AbortSignal (the engine stops between blocks, writes nothing
// new and keeps what a cancelled run keeps: a gradual run's last checkpoint); a second signal exits at once.
// Either way the exit code is the shell's for that signal: 128 + its number (SIGINT 130, SIGTERM 143).
import * as os from 'node:os';
import { WoodFisherError } from '../engine/types';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a run stopped by `signal`, as a shell reports a process it ended: 128 + the signal's number. */
export const signalExitCode = (signal: StopSignal): number => 128 + os.constants.signals[signal];

/** A run cancelled by a signal: the engine's CANCELLED error, with the signal that asked for it. */
export class Interrupted extends Error {
  constructor(
    readonly signal: StopSignal,
    message: string,
  ) {
    super(message);
    this.name = 'Interrupted';
  }
}

export async function withAbort<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const on = (signal: StopSignal) => () => {
    if (controller.signal.aborted) leaveNow(signal);
    received = signal;
    controller.abort();
  };
  const handlers = { SIGINT: on('SIGINT'), SIGTERM: on('SIGTERM') };
  for (const [s, h] of Object.entries(handlers)) process.on(s, h);
  try {
    return await run(controller.signal);
  } catch (e) {
    throw received && e instanceof WoodFisherError && e.code === 'CANCELLED' ? new Interrupted(received, e.message) : e;
  } finally {
    for (const [s, h] of Object.entries(handlers)) process.off(s, h);
  }
}

/**
 * The second signal: leave now. The exit handlers run first (an output claim removes its staging folder and lock), then
 * the signal is raised again with its default action, so the process ends as killed by it (the shell's 128 + n).
 * Not process.exit(): its teardown stops native threads mid-product, and onnxruntime then aborts the process
 * ("terminate called after throwing an instance of 'Napi::Error'", exit 134).
 */
function leaveNow(signal: StopSignal): never {
  process.emit('exit', signalExitCode(signal));
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // the default action ends the process before this line; should the signal be blocked, exit as it would have
  process.exit(signalExitCode(signal));
}
