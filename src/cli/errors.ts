// How the CLI ends: exit codes and the one-line error message.
import { WoodFisherError } from '../engine/types';
import { Interrupted, signalExitCode } from './abort';

export const EXIT = { ok: 0, error: 1, usage: 2, cancelled: 130 } as const;

/** A mistake in the command line itself (exit code 2). */
export class UsageError extends Error {}

/** Turns any failure into (one line on stderr, exit code). Stack traces only with WOODFISHER_DEBUG=1. */
export function reportFailure(e: unknown, stderr: (s: string) => void): number {
  const debug = process.env.WOODFISHER_DEBUG === '1';
  // cancelled: "cancelled", or what the run kept (a gradual run's checkpoint); exit 128 + the signal (130 for Ctrl-C)
  if (e instanceof Interrupted || (e instanceof WoodFisherError && e.code === 'CANCELLED')) {
    stderr(`${/^[\w ]*cancelled$/i.test(e.message) ? 'cancelled' : oneLine(e.message)}\n`);
    return e instanceof Interrupted ? signalExitCode(e.signal) : EXIT.cancelled;
  }
  if (e instanceof UsageError) {
    stderr(`error: ${e.message}\n`);
    return EXIT.usage;
  }
  if (e instanceof WoodFisherError) {
    stderr(`error: ${oneLine(e.message)}\n`);
    if (debug && e.stack) stderr(e.stack + '\n');
    return EXIT.error;
  }
  const err = e as Error;
  stderr(`error: ${oneLine(err?.message ?? String(e))}${debug ? '' : ' (set WOODFISHER_DEBUG=1 for details)'}\n`);
  if (debug && err?.stack) stderr(err.stack + '\n');
  return EXIT.error;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
