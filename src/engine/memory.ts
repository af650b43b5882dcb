// Memory plan: what a run will hold at its peak, computed before anything large is allocated.
import * as os from 'node:os';
import { chooseForm, inverseBytes, inversePeakBytes } from './fisher/inverse';
import { blockRanges } from './fisher/blocks';
import { MemoryPlan, Method, PrunableLayer, InverseForm, WoodFisherError } from './types';

export const needsGradients = (m: Method) => m === 'woodfisher' || m === 'woodtaylor' || m === 'diagfisher';
export const needsInverse = (m: Method) => m === 'woodfisher' || m === 'woodtaylor';

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
}

/** Bytes held by all built inverse blocks (if kept until the update), and the largest scratch while building one. */
function inverseFootprint(layers: PrunableLayer[], n: number, blockSize: number, form: InverseForm) {
  let sum = 0, largest = 0, peak = 0;
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
  }
  const plan = (items: { what: string; bytes: number }[], strategy: 'keep' | 'rebuild') => {
    const totalBytes = items.reduce((a, i) => a + i.bytes, 0);
    return { items, totalBytes, limitBytes, fits: totalBytes <= limitBytes, strategy };
  };
  if (!needsInverse(p.method)) return plan(base, 'keep');
  const inv = inverseFootprint(p.layers, p.samples, p.blockSize, p.inverseForm);
  const scratch = { what: 'scratch while building one Fisher-inverse block', bytes: inv.peak };
  const keep = plan([...base, { what: 'Fisher-inverse blocks, all kept until the update', bytes: inv.sum }, scratch], 'keep');
  if (keep.fits) return keep;
  const rebuild = plan([...base, { what: 'one Fisher-inverse block at a time (rebuilt for the update)', bytes: inv.largest }, scratch], 'rebuild');
  return rebuild.fits ? rebuild : keep;
}

export const formatBytes = (n: number) =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;

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
