// Memory plan: what a run will hold at its peak, computed before anything large is allocated.
import * as os from 'node:os';
import { blocksPerBatch, chooseForm, inverseBytes, inversePeakBytes } from './fisher/inverse';
import { blockRanges } from './fisher/blocks';
import { needsGradients, needsInverse } from './methods';
import { formatBytes } from './report/bytes';
import { MemoryPlan, Method, PrunableLayer, InverseForm, WoodFisherError } from './types';

/** Default limit: half of the memory the OS reports free now (the rest is for TF.js, V8 and the editor). */
export function defaultMemoryLimit(): number {
  return Math.floor(os.freemem() * 0.5);
}

export interface PlanInput {
  layers: PrunableLayer[];
  samples: number;
  blockSize: number;
  method: Method;
  inverseForm: InverseForm;
  limitBytes?: number;
  threads?: number; // Fisher blocks built at once (one per worker thread)
}

const MiB = 2 ** 20;
// The gradient code sizes its batches to ~64 MiB of per-sample rows and patches (gradients/perSample.ts); the
// activations and their gradients about triple that, and TF.js's wasm heap keeps its high-water mark.
const GRADIENT_BATCH_BYTES = 3 * 64 * MiB;
// A block-builder thread: its V8 isolate, the bundle and onnxruntime's library (measured here: ~60 MiB each).
const WORKER_THREAD_BYTES = 60 * MiB;

/** Bytes held by all built inverse blocks (if kept until the update), and the largest scratch while building one. */
function inverseFootprint(layers: PrunableLayer[], n: number, blockSize: number, form: InverseForm) {
  let sum = 0,
    largest = 0,
    peak = 0;
  for (const l of layers) {
    for (const r of blockRanges(l.size, blockSize)) {
      const b = r.end - r.start;
      const f = form === 'auto' ? chooseForm(n, b) : form;
      sum += inverseBytes(n, b, f);
      largest = Math.max(largest, inverseBytes(n, b, f));
      peak = Math.max(peak, inversePeakBytes(n, b, f));
    }
  }
  return { sum, largest, peak };
}

/**
 * Peak memory of a one-shot step. Inverse blocks are kept from selection to update when they fit
 * ('keep'); otherwise each block is rebuilt for its update ('rebuild': twice the inverse work, one block in memory).
 */
export function planMemory(p: PlanInput): MemoryPlan & { strategy: 'keep' | 'rebuild' } {
  const d = p.layers.reduce((a, l) => a + l.size, 0);
  const limitBytes = p.limitBytes ?? defaultMemoryLimit();
  const base: { what: string; bytes: number }[] = [
    { what: 'model weights (TF.js float32, two copies)', bytes: d * 4 * 2 },
    { what: 'weights, saliencies and masks (float64)', bytes: d * (8 * 3 + 1) },
  ];
  if (needsGradients(p.method)) {
    base.push({ what: `per-sample gradients (${p.samples} × ${d} float32)`, bytes: p.samples * d * 4 });
    base.push({
      what: 'TF.js working memory for one batch of gradients',
      bytes: Math.min(GRADIENT_BATCH_BYTES, 3 * p.samples * 2 * d * 4),
    });
  }
  const plan = (items: { what: string; bytes: number }[], strategy: 'keep' | 'rebuild') => {
    const totalBytes = items.reduce((a, i) => a + i.bytes, 0);
    return { items, totalBytes, limitBytes, fits: totalBytes <= limitBytes, strategy };
  };
  if (!needsInverse(p.method)) return plan(base, 'keep');
  const inv = inverseFootprint(p.layers, p.samples, p.blockSize, p.inverseForm);
  const T = Math.max(1, p.threads ?? 1);
  const k = blocksPerBatch(p.samples, Math.min(p.blockSize, d), p.inverseForm); // blocks per batched build
  const slice = p.samples * Math.min(p.blockSize, d) * 4;
  const building = [
    {
      what: `scratch while building ${T === 1 ? 'one batch' : `${T} batches at once (one per thread)`} of ${k} Fisher-inverse block${k > 1 ? 's' : ''}`,
      bytes: T * k * inv.peak,
    },
    // two batches per thread in flight (blockPool.ts), and each thread's contiguous copy of the one it builds
    { what: 'gradient slices in flight to the block builders', bytes: 3 * T * k * slice },
    ...(T > 1 ? [{ what: `${T} worker threads (runtime and native library)`, bytes: T * WORKER_THREAD_BYTES }] : []),
  ];
  const keep = plan([...base, { what: 'Fisher-inverse blocks, all kept until the update', bytes: inv.sum }, ...building], 'keep');
  if (keep.fits) return keep;
  const rebuild = plan(
    [...base, { what: `${T * k} Fisher-inverse block(s) at a time (rebuilt for the update)`, bytes: T * k * inv.largest }, ...building],
    'rebuild',
  );
  return rebuild.fits ? rebuild : keep;
}

/** Throws the user-facing error for a plan over the limit, naming the knobs that fix it. */
export function assertPlanFits(plan: MemoryPlan): void {
  if (plan.fits) return;
  const biggest = [...plan.items].sort((a, b) => b.bytes - a.bytes)[0];
  throw new WoodFisherError(
    `the memory plan needs ${formatBytes(plan.totalBytes)} but the limit is ${formatBytes(plan.limitBytes)} ` +
      `(largest: ${biggest.what}, ${formatBytes(biggest.bytes)}). Lower --samples or --block-size, ` +
      `exclude large layers, or raise --max-memory if the machine has the RAM.`,
    'MEMORY',
  );
}
