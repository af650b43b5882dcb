// Worker-thread entry of the block pool (bundled as dist/blockWorker.js): runs batches of block jobs, keeps built inverses.
import { parentPort } from 'node:worker_threads';
import { releaseGemm, useFastestGemm } from '../linalg/fastest';
import { WoodFisherError } from '../types';
import { buildBlocks, Kept, updateBlocks, type BuildJob, type UpdateJob } from './blockJobs';

const kept = new Kept();
useFastestGemm();

/** The batch's gradient buffers (each once). */
function gradientBuffers(job: Batch): Set<ArrayBuffer> {
  const Gs = job.op === 'build' ? job.jobs.map(j => j.G) : job.jobs.flatMap(j => (j.rebuild ? [j.rebuild.G] : []));
  const views = Gs.filter((G): G is Float32Array | Float64Array => ArrayBuffer.isView(G));
  return new Set(views.map(G => G.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer)); // shared memory stays
}

type Batch = { op: 'build'; id: number; jobs: BuildJob[] } | { op: 'update'; id: number; jobs: UpdateJob[] };

// a batch that cannot be read here (e.g. a view of a shared buffer of 4 GiB or more: linalg/rowArena.ts) would never
// be answered; failing the thread rejects every batch waiting on it instead
parentPort!.on('messageerror', e => {
  throw new Error(`a batch of Fisher blocks did not reach the thread (${e.message})`);
});

parentPort!.on('message', (job: Batch | { op: 'exit' }) => {
  if (job.op === 'exit') {
    // leave on our own, between jobs, after freeing the native sessions
    kept.clear();
    releaseGemm();
    parentPort!.close();
    return;
  }
  try {
    const arrived = gradientBuffers(job); // gathered by the caller (not columns of shared rows, gathered here)
    const results = job.op === 'build' ? buildBlocks(job.jobs, kept) : updateBlocks(job.jobs, kept);
    const transfer = new Set(
      results.flatMap(r => ('saliency' in r ? [r.saliency.buffer, ...(r.invGrad ? [r.invGrad.buffer] : [])] : [r.w.buffer])),
    );
    // the caller's gradient buffers go back to its scratch pool: its next batch is gathered into them
    const back = [...arrived].filter(b => !transfer.has(b));
    parentPort!.postMessage({ op: job.op, id: job.id, ok: results, back }, [...transfer, ...back] as ArrayBuffer[]);
  } catch (e) {
    const code = e instanceof WoodFisherError ? e.code : 'NUMERIC';
    parentPort!.postMessage({ op: job.op, id: job.id, error: { message: (e as Error).message, code } });
  }
});
