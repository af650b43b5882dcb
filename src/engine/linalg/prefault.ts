// Maps an array's pages on another thread while this one is busy elsewhere (building the ONNX pass: one core).
// A page's first write costs a fault — 1.6 ms a MiB on the VM measured here even after populate() (the host maps it),
// 0.1–0.3 ms on bare metal — and the gradient arena is N × d floats written once (docs/performance.md).
import { Worker } from 'node:worker_threads';

const MIN_BYTES = 64 * 2 ** 20; // below this the thread's start (~30 ms) costs about what it saves

// Atomics.add(v, i, 0) writes each page without changing it: a locked read-modify-write, so a value this thread
// writes at the same time is kept whichever comes first. Stops at the flag, checked every 256 pages.
const TOUCH = `
const { workerData: { buffers, control } } = require('node:worker_threads');
const c = new Int32Array(control); // [stop, pages written]
outer: for (const [buffer, offset, length] of buffers) {
  const v = new Int32Array(buffer, offset, length);
  for (let i = 0, k = 0; i < v.length; i += 1024, k++) {
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

const none: Prefault = { pages: () => 0, stop: async () => {} };

/** Starts writing the pages of these shared arrays on a worker thread; arrays outside shared memory are skipped. */
export function prefault(arrays: Iterable<Float32Array>): Prefault {
  const shared = [...arrays].filter(a => a.buffer instanceof SharedArrayBuffer && a.byteLength >= 4096);
  if (shared.reduce((s, a) => s + a.byteLength, 0) < MIN_BYTES) return none;
  const control = new Int32Array(new SharedArrayBuffer(8));
  let worker: Worker;
  try {
    worker = new Worker(TOUCH, {
      eval: true,
      workerData: { buffers: shared.map(a => [a.buffer, a.byteOffset, a.length]), control: control.buffer },
      resourceLimits: { maxOldGenerationSizeMb: 16 },
    });
  } catch {
    return none; // no thread to spare: the pages fault as they are written, as without this
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
