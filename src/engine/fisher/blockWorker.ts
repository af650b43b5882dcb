// Worker-thread entry of the block pool (bundled as dist/blockWorker.js): runs block jobs, keeps built inverses.
import { parentPort } from 'node:worker_threads';
import { releaseGemm, useFastestGemm } from '../linalg/fastest';
import { WoodFisherError } from '../types';
import { buildBlock, updateBlock, type BuildJob, type UpdateJob } from './blockJobs';
import type { FisherBlockInverse } from './blockInverse';

const kept = new Map<number, FisherBlockInverse>();
useFastestGemm();

parentPort!.on('message', (job: BuildJob | UpdateJob | { op: 'exit' }) => {
  if (job.op === 'exit') {            // leave on our own, between jobs, after freeing the native sessions
    kept.clear();
    releaseGemm();
    parentPort!.close();
    return;
  }
  try {
    const result = job.op === 'build' ? buildBlock(job, kept) : updateBlock(job, kept);
    const transfer = 'saliency' in result ? [result.saliency.buffer] : [result.w.buffer];
    parentPort!.postMessage({ op: job.op, id: job.id, ok: result }, transfer as ArrayBuffer[]);
  } catch (e) {
    const code = e instanceof WoodFisherError ? e.code : 'NUMERIC';
    parentPort!.postMessage({ op: job.op, id: job.id, error: { message: (e as Error).message, code } });
  }
});
