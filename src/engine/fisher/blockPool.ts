// Runs Fisher block jobs on every core: a pool of worker threads (one native gemm each), or inline on this thread.
// Jobs arrive one block at a time and leave in batches (blocksPerBatch of one shape): one batched build per batch,
// so many small blocks cost a few large products instead of many small calls. A batch goes to the least busy worker, and
// the update of its blocks goes there too, as the same batch, so it finds the inverses that worker kept (or rebuilds
// exactly them). Batches are cut only by size and shape, never by timing, so results are bit-identical to the
// inline runner (same code, same batches, same single-threaded products).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { WoodFisherError } from '../types';
import { recycle } from '../linalg/scratch';
import {
  buildBlocks,
  gatherBatch,
  shareable,
  updateBlocks,
  type BuildJob,
  type BuildResult,
  Kept,
  type UpdateJob,
  type UpdateResult,
} from './blockJobs';
import { blocksPerBatch } from './inverse';
import type { InverseForm } from '../types';

export interface BlockRunner {
  readonly threads: number;
  readonly batch: number; // blocks per batch
  readonly capacity: number; // blocks worth keeping in flight (two batches a thread)
  build(job: BuildJob): Promise<BuildResult>;
  update(job: UpdateJob): Promise<UpdateResult>;
  close(): Promise<void>;
}

type Run = {
  (op: 'build', jobs: BuildJob[], batch: number): Promise<BuildResult[]>;
  (op: 'update', jobs: UpdateJob[], batch: number): Promise<UpdateResult[]>;
};

/** Worker threads for the Fisher blocks: all cores by default (up to 8), inline for a single block or thread;
 *  blocks of n×b gradients (b the block size) go in batches of blocksPerBatch. */
export function blockRunner(threads: number | undefined, blocks: number, shape?: { n: number; b: number; form: InverseForm }): BlockRunner {
  const t = blockThreads(threads, blocks);
  const batch = shape ? blocksPerBatch(shape.n, shape.b, shape.form) : 1;
  return t > 1 ? blockPool(t, batch) : inlineRunner(batch);
}

/** Threads a run uses for `blocks` Fisher blocks: the asked number, else the machine's cores (at most 8). */
export function blockThreads(threads: number | undefined, blocks: number): number {
  return Math.max(1, Math.min(threads ?? Math.min(8, os.availableParallelism()), blocks));
}

/** Blocks in batches on this thread. */
export function inlineRunner(batch = 1): BlockRunner {
  const kept = new Kept();
  const tick = () => new Promise<void>(r => setImmediate(r)); // lets a cancel arrive between batches
  const run = (async (op: 'build' | 'update', jobs: (BuildJob | UpdateJob)[]) => {
    await tick();
    return op === 'build' ? buildBlocks(jobs as BuildJob[], kept) : updateBlocks(jobs as UpdateJob[], kept);
  }) as Run;
  return {
    threads: 1,
    ...batching(1, batch, run),
    close: async () => {
      kept.clear();
    },
  };
}

type Reply = {
  op: 'build' | 'update';
  id: number;
  ok?: (BuildResult | UpdateResult)[];
  error?: { message: string; code: string };
  back?: ArrayBuffer[]; // the jobs' gradient buffers, returned for the next batch's gathering
};

/** T worker threads, batches of `batch` blocks. */
export function blockPool(threads: number, batch = 1): BlockRunner {
  const workers = Array.from({ length: threads }, () => spawn());
  const pending = workers.map(() => new Map<string, { resolve: (r: never) => void; reject: (e: Error) => void }>());
  workers.forEach((w, i) => {
    w.on('message', (m: Reply) => {
      const key = `${m.op}:${m.id}`;
      const p = pending[i].get(key);
      recycle(...(m.back ?? []));
      if (!p) return;
      pending[i].delete(key);
      if (m.ok) p.resolve(m.ok as never);
      else p.reject(new WoodFisherError(m.error?.message ?? 'Fisher worker failed', (m.error?.code ?? 'NUMERIC') as never));
    });
    w.on('error', e => {
      for (const p of pending[i].values()) p.reject(new WoodFisherError(`a Fisher worker thread failed: ${e.message}`, 'NUMERIC'));
      pending[i].clear();
    });
  });
  const inflight = new Set<Promise<unknown>>();
  const busy = workers.map(() => 0); // batches each thread has queued or running
  const home = new Map<number, number>(); // build batch → the thread that built it (and keeps its inverses)
  const run = ((op: 'build' | 'update', jobs: (BuildJob | UpdateJob)[], seq: number) => {
    // a build goes to the least busy thread (a thread sharing its core with this one falls behind: strict turns would
    // leave the other waiting); its update to the same thread. Which thread builds a batch changes no result.
    const i = (op === 'update' ? home.get(seq) : undefined) ?? busy.indexOf(Math.min(...busy));
    if (op === 'build') home.set(seq, i);
    else home.delete(seq);
    try {
      // gradient rows in shared memory: the thread gathers its blocks itself; else the batch's gradients into one
      // pooled buffer here, which moves to the thread and comes back
      if (!shareable(jobs)) gatherBatch(jobs);
    } catch (e) {
      return Promise.reject(e);
    }
    const moved = (G: unknown) => (ArrayBuffer.isView(G) && G.buffer instanceof ArrayBuffer ? [G.buffer] : []); // shared memory is not moved
    const transfer = [...new Set(jobs.flatMap(j => ('G' in j ? [...moved(j.G), j.w.buffer] : [j.w.buffer, ...moved(j.rebuild?.G)])))];
    const p = new Promise((resolve, reject) => {
      pending[i].set(`${op}:${seq}`, { resolve: resolve as (r: never) => void, reject });
      workers[i].postMessage({ op, id: seq, jobs }, transfer as ArrayBuffer[]);
    });
    inflight.add(p);
    busy[i]++;
    const done = () => {
      inflight.delete(p);
      busy[i]--;
    };
    p.then(done, done);
    return p;
  }) as Run;
  return {
    threads,
    ...batching(threads, batch, run),
    // Never terminate a thread inside a native call (onnxruntime aborts the process then): let the jobs in flight
    // finish (one batch each), then ask every thread to free its sessions and leave.
    close: async () => {
      await Promise.allSettled([...inflight]);
      await Promise.all(
        workers.map(
          w =>
            new Promise<void>(resolve => {
              const timer = setTimeout(() => {
                void w.terminate();
              }, 30_000); // a thread that does not leave in time
              w.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              w.postMessage({ op: 'exit' });
            }),
        ),
      );
    },
  };
}

/**
 * Per-job build/update in front of batched runs. A build batch leaves when it holds `size` blocks, when the next job
 * would take it past `size`, or when the next job has another shape; the update of its jobs leaves as the same batch
 * once all of them have arrived. A partial batch leaves only when nothing is running (the caller is done, or waits for
 * it): that is the only moment more jobs cannot come, so no batch depends on timing. Capacity: two batches per thread
 * in flight.
 */
function batching(threads: number, size: number, run: Run): Pick<BlockRunner, 'batch' | 'capacity' | 'build' | 'update'> {
  type Queued<J, R> = { job: J; resolve: (r: R) => void; reject: (e: unknown) => void };
  let builds: Queued<BuildJob, BuildResult>[] = [],
    updates: Queued<UpdateJob, UpdateResult>[] = [];
  let seq = 0,
    running = 0,
    queued = 0, // blocks in `builds`
    idleSoon = false;
  const batchOf = new Map<number, number>(); // job id → its build batch
  const sizeOf = new Map<number, number>(); // build batch → its jobs
  const send = <J, R>(op: 'build' | 'update', queue: Queued<J, R>[], batch: number) => {
    running++;
    (run as unknown as (op: string, jobs: J[], batch: number) => Promise<R[]>)(
      op,
      queue.map(q => q.job),
      batch,
    )
      .then(
        rs => queue.forEach((q, i) => q.resolve(rs[i])),
        e => queue.forEach(q => q.reject(e)),
      )
      .finally(() => {
        running--;
        idle();
      });
  };
  const flushBuilds = () => {
    if (!builds.length) return;
    queued = 0;
    const b = seq++;
    for (const q of builds) batchOf.set(q.job.id, b);
    sizeOf.set(b, builds.length);
    send('build', builds, b);
    builds = [];
  };
  const flushUpdates = () => {
    if (!updates.length) return;
    const b = batchOf.get(updates[0].job.id) ?? seq++;
    for (const q of updates) batchOf.delete(q.job.id);
    sizeOf.delete(b);
    send('update', updates, b);
    updates = [];
  };
  const idle = () => {
    if (idleSoon) return;
    idleSoon = true;
    setImmediate(() => {
      idleSoon = false;
      if (running === 0) {
        flushBuilds();
        flushUpdates();
      }
    });
  };
  const shape = (j: BuildJob) => `${j.n}×${j.b} ${j.damp} ${j.form}`;
  return {
    batch: size,
    capacity: 2 * threads * size,
    build: job =>
      new Promise<BuildResult>((resolve, reject) => {
        const k = job.blocks ?? 1;
        if (builds.length && (shape(builds[0].job) !== shape(job) || queued + k > size)) flushBuilds();
        builds.push({ job, resolve, reject });
        queued += k;
        if (queued >= size) flushBuilds();
        else idle();
      }),
    update: job =>
      new Promise<UpdateResult>((resolve, reject) => {
        const b = batchOf.get(job.id);
        if (updates.length && batchOf.get(updates[0].job.id) !== b) flushUpdates();
        updates.push({ job, resolve, reject });
        if (b === undefined || updates.length >= (sizeOf.get(b) ?? 1)) flushUpdates();
        else idle();
      }),
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
export async function forEachBounded<T>(
  items: Iterable<T>,
  capacity: number,
  fn: (item: T) => Promise<void>,
  beforeEach?: () => void,
): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  for (const item of items) {
    if (failure !== undefined) break;
    beforeEach?.();
    while (inflight.size >= capacity && failure === undefined) await Promise.race(inflight).catch(() => undefined);
    if (failure !== undefined) break;
    const p: Promise<void> = fn(item)
      .catch(e => {
        if (failure === undefined) failure = e;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
}
