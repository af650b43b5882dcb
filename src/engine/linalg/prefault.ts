// Maps an array's pages on another thread while this one is busy elsewhere (building the ONNX pass, running it).
// A page's first write costs a fault: 1.6 ms a MiB on the VM measured here even after populate() (its host maps the
// page on first write), 0.1–0.3 ms on bare metal; the gradient arena is N × d floats written once (docs/performance.md).
import { Worker } from 'node:worker_threads';
import { openBlasFile, openBlasUnavailable } from './accel/openblas';

const MIN_BYTES = 64 * 2 ** 20; // below this the thread's start (~30 ms) costs about what it saves

// populate() each buffer (the addon's madvise, when it loads here), then write every page of the segments in the
// order given — the order this thread will fill them, so the worker stays ahead of it. Atomics.add(v, i, 0) writes a
// page without changing it: a locked read-modify-write, so a value written at the same time by another thread is kept
// whichever comes first. Stops at the flag, checked every 256 pages.
const TOUCH = `
const { workerData: { addon, buffers, segments, control } } = require('node:worker_threads');
const c = new Int32Array(control); // [stop, pages written]
if (addon) try { const a = require(addon); for (const b of buffers) a.populate(new Float32Array(b)); } catch {}
let k = 0;
outer: for (const [buffer, offset, length] of segments) {
  const v = new Int32Array(buffer, offset, length);
  for (let i = 0; i < v.length; i += 1024, k++) {
    if ((k & 255) === 0) {
      if (Atomics.load(c, 0)) break outer;
      Atomics.add(c, 1, k && 256);
    }
    Atomics.add(v, i, 0);
  }
}`;

export interface Prefault {
  /** Pages written so far (counted 256 at a time). */
  pages(): number;
  /** Stops the thread where it is and waits for it to end (the pages it did not reach fault as they are written). */
  stop(): Promise<void>;
}

/** Starts writing the pages of these views of shared memory, in this order, on a worker thread; views outside shared
 *  memory are skipped. Returns undefined (nothing started) below 64 MiB or when no thread can start. */
export function prefault(segments: Iterable<Float32Array>): Prefault | undefined {
  const shared = [...segments].filter(a => a.buffer instanceof SharedArrayBuffer && a.length > 0);
  if (shared.reduce((s, a) => s + a.byteLength, 0) < MIN_BYTES) return undefined;
  const control = new Int32Array(new SharedArrayBuffer(8));
  let worker: Worker;
  try {
    worker = new Worker(TOUCH, {
      eval: true,
      workerData: {
        addon: openBlasUnavailable() === undefined ? openBlasFile() : undefined,
        buffers: [...new Set(shared.map(a => a.buffer))],
        segments: shared.map(a => [a.buffer, a.byteOffset, a.length]),
        control: control.buffer,
      },
      resourceLimits: { maxOldGenerationSizeMb: 16 },
    });
  } catch {
    return undefined; // no thread to spare
  }
  const ended = new Promise<void>(resolve => {
    worker.once('exit', () => resolve());
    worker.once('error', () => resolve());
  });
  return {
    pages: () => Atomics.load(control, 1),
    async stop() {
      Atomics.store(control, 0, 1);
      await ended;
    },
  };
}
