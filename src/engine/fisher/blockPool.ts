// Runs Fisher block jobs on every core: a pool of worker threads (one native gemm each), or inline on this thread.
// Block b goes to worker b mod T, so its update finds the inverse that worker kept. Results are bit-identical to
// the inline runner (same code, same single-threaded products).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { WoodFisherError } from '../types';
import { buildBlock, updateBlock, type BuildJob, type BuildResult, type UpdateJob, type UpdateResult } from './blockJobs';
import type { FisherBlockInverse } from './blockInverse';

export interface BlockRunner {
  readonly threads: number;
  readonly capacity: number;                 // jobs worth keeping in flight (bounds the gradient slices in memory)
  build(job: BuildJob): Promise<BuildResult>;
  update(job: UpdateJob): Promise<UpdateResult>;
  close(): Promise<void>;
}

const tick = () => new Promise<void>(r => setImmediate(r)); // lets a cancel arrive between inline blocks

/** Worker threads for the Fisher blocks: all cores by default (up to 8), inline for a single block or thread. */
export function blockRunner(threads: number | undefined, blocks: number): BlockRunner {
  const t = blockThreads(threads, blocks);
  return t > 1 ? blockPool(t) : inlineRunner();
}

/** Threads a run uses for `blocks` Fisher blocks: the asked number, else the machine's cores (at most 8). */
export function blockThreads(threads: number | undefined, blocks: number): number {
  return Math.max(1, Math.min(threads ?? Math.min(8, os.availableParallelism()), blocks));
}

/** Blocks one after another on this thread. */
export function inlineRunner(): BlockRunner {
  const kept = new Map<number, FisherBlockInverse>();
  return {
    threads: 1, capacity: 1,
    build: async job => { await tick(); return buildBlock(job, kept); },
    update: async job => { await tick(); return updateBlock(job, kept); },
    close: async () => { kept.clear(); },
  };
}

type Reply = { op: 'build' | 'update'; id: number; ok?: BuildResult | UpdateResult; error?: { message: string; code: string } };

/** T worker threads; falls back to inline when a worker cannot start. */
export function blockPool(threads: number): BlockRunner {
  const workers = Array.from({ length: threads }, () => spawn());
  const pending = workers.map(() => new Map<string, { resolve: (r: never) => void; reject: (e: Error) => void }>());
  workers.forEach((w, i) => {
    w.on('message', (m: Reply) => {
      const key = `${m.op}:${m.id}`;
      const p = pending[i].get(key);
      if (!p) return;
      pending[i].delete(key);
      if (m.ok) p.resolve(m.ok as never);
      else p.reject(new WoodFisherError(m.error?.message ?? 'Fisher worker failed', (m.error?.code ?? 'NUMERIC') as never));
    });
    w.on('error', e => { for (const p of pending[i].values()) p.reject(new WoodFisherError(`a Fisher worker thread failed: ${e.message}`, 'NUMERIC')); pending[i].clear(); });
  });
  const inflight = new Set<Promise<unknown>>();
  const send = <R>(job: BuildJob | UpdateJob, transfer: ArrayBufferLike[]): Promise<R> => {
    const i = job.id % threads;
    const p = new Promise<R>((resolve, reject) => {
      pending[i].set(`${job.op}:${job.id}`, { resolve: resolve as (r: never) => void, reject });
      workers[i].postMessage(job, transfer as ArrayBuffer[]);
    });
    inflight.add(p);
    const done = () => { inflight.delete(p); };
    p.then(done, done);
    return p;
  };
  return {
    threads, capacity: 2 * threads,
    build: job => send<BuildResult>(job, [job.G.buffer, job.w.buffer]),
    update: job => send<UpdateResult>(job, [job.w.buffer, ...(job.rebuild ? [job.rebuild.G.buffer] : [])]),
    // Never terminate a thread inside a native call (onnxruntime aborts the process then): let the jobs in flight
    // finish (one block each), then ask every thread to free its sessions and leave.
    close: async () => {
      await Promise.allSettled([...inflight]);
      await Promise.all(workers.map(w => new Promise<void>(resolve => {
        const timer = setTimeout(() => { void w.terminate(); }, 30_000); // a thread that does not leave in time
        w.once('exit', () => { clearTimeout(timer); resolve(); });
        w.postMessage({ op: 'exit' });
      })));
    },
  };
}

/** The bundled worker (dist/blockWorker.js) beside this code, or the TypeScript source through tsx (tests, dev). */
function spawn(): Worker {
  const js = path.join(__dirname, 'blockWorker.js');
  if (fs.existsSync(js)) return new Worker(js);
  const ts = path.join(__dirname, 'blockWorker.ts');
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(ts)});`, { eval: true });
}

/** Runs fn over items with at most `capacity` in flight; the first failure stops dispatching and is thrown. */
export async function forEachBounded<T>(items: Iterable<T>, capacity: number, fn: (item: T) => Promise<void>, beforeEach?: () => void): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  for (const item of items) {
    if (failure !== undefined) break;
    beforeEach?.();
    while (inflight.size >= capacity && failure === undefined) await Promise.race(inflight).catch(() => undefined);
    if (failure !== undefined) break;
    const p: Promise<void> = fn(item).catch(e => { if (failure === undefined) failure = e; }).finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
}
