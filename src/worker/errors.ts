// Turns anything thrown by the engine into one clear protocol message: no stack traces for users.
import type { ErrorMessage } from '../protocol';

export function toErrorMessage(err: unknown, aborted: boolean): ErrorMessage {
  if (aborted) return { type: 'error', message: 'Pruning cancelled', code: 'CANCELLED' };
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; message?: unknown; code?: unknown };
    const message = typeof e.message === 'string' && e.message ? firstLine(e.message) : String(err);
    if (e.name === 'WoodFisherError' && typeof e.code === 'string') return { type: 'error', message, code: e.code };
    if (e.name === 'AbortError') return { type: 'error', message: 'Pruning cancelled', code: 'CANCELLED' };
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return { type: 'error', message, code: 'IO' }; // ENOENT, EACCES…
    return { type: 'error', message: `Unexpected error: ${message}`, code: 'INTERNAL' };
  }
  return { type: 'error', message: `Unexpected error: ${String(err)}`, code: 'INTERNAL' };
}

function firstLine(s: string): string {
  // Some TF.js errors append tensor dumps; keep the message readable in a notification.
  const line = s.split('\n').find(l => l.trim()) ?? s;
  return line.length > 500 ? `${line.slice(0, 497)}…` : line;
}
