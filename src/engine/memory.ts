// Memory plan: what a run will hold at its peak, computed before anything large is allocated.
import * as os from 'node:os';
import { blocksPerBatch, chooseForm, inverseBytes, inversePeakBytes } from './fisher/inverse';
import { blockRanges } from './fisher/blocks';
import { needsGradients, needsInverse } from './methods';
import { formatBytes } from './report/bytes';
import { MemoryPlan, Method, PrunableLayer, InverseForm, WoodFisherError } from './types';

/** Default limit: what the process already holds (`runtime`, when the plan counts it) plus half of the memory the OS
 *  reports free now (the other half is for the editor and everything else). */
export function defaultMemoryLimit(runtime = 0): number {
  return runtime + Math.floor(os.freemem() * 0.5);
}

const RUNTIME = 'the runtime before the run (V8, TF.js and its backend, native libraries; measured)';
let runtime: number | undefined;
/** The runtime a run starts on, measured: V8, TF.js and its backend (wasm) — 100 MB bundled, more under tsx — that no
 *  other item holds. The resident set at the first run's start (after the backend, before any model or data), once per
 *  process: a sweep's later runs and inspect's plan count the same runtime. Taken before onnxruntime's product thread
 *  starts: that thread grows for a second or so after it is created (~30 MB), and a reading taken while it does moves
 *  with the machine's load (plans made in two processes then differ by that much). */
export function runtimeBytes(): number {
  return (runtime ??= process.memoryUsage.rss());
}

export interface PlanInput {
  layers: PrunableLayer[];
  samples: number;
  blockSize: number;
  method: Method;
  inverseForm: InverseForm;
  limitBytes?: number;
  threads?: number; // Fisher blocks built at once (one per worker thread)
  /** Sizes of a layer's Fisher blocks that get an inverse (default: blockRanges of blockSize; structured pruning: its
   *  blocks of several whole rows — a one-row block is scored without one). */
  inverseBlocks?: (layer: PrunableLayer) => number[];
  /** Blocks built per batch on a thread (default: fisher/inverse.ts blocksPerBatch; structured pruning builds one at a time). */
  blocksAtOnce?: number;
  /** Working memory of one batch of the gradient pass (gradients/perSample.ts gradientPassBytes); without the
   *  model, an estimate. */
  gradientPassBytes?: number;
  /** The caller can stream gradients by layer group (pruneStep with the plan's groups): plan it when they do not fit. */
  stream?: boolean;
  /** Bytes of the calibration (and evaluation) inputs held during the run. */
  dataBytes?: number;
  /** What else the caller holds throughout (gradual: optimizer state, a training batch): counted in every choice. */
  heldBytes?: PlanItem[];
  /** The process before the run (runtimeBytes() at its start): counted, and the default limit adds it to half the free RAM. */
  runtimeBytes?: number;
}

const MiB = 2 ** 20;
// Without the model's graph: activations and their gradients about triple a batch's rows (at most 64 MiB of them).
const GRADIENT_BATCH_BYTES = 3 * 64 * MiB;
// A block-builder thread: its V8 isolate, the bundle and onnxruntime's library (measured here: ~60 MiB each).
const WORKER_THREAD_BYTES = 60 * MiB;

/** Bytes held by all built inverse blocks (if kept until the update), and the largest scratch while building one. */
function inverseFootprint(layers: PrunableLayer[], n: number, sizes: (l: PrunableLayer) => number[], form: InverseForm) {
  let sum = 0,
    largest = 0,
    peak = 0;
  for (const l of layers) {
    for (const b of sizes(l)) {
      const f = form === 'auto' ? chooseForm(n, b) : form;
      sum += inverseBytes(n, b, f);
      largest = Math.max(largest, inverseBytes(n, b, f));
      peak = Math.max(peak, inversePeakBytes(n, b, f));
    }
  }
  return { sum, largest, peak };
}

export type PlanItem = { what: string; bytes: number };
type Item = PlanItem;
export type Plan = MemoryPlan & { strategy: 'keep' | 'rebuild'; gradients: 'in memory' | 'streamed' };

/**
 * Layer groups for streamed gradients: consecutive layers from the output back (the first group's backward pass is the
 * shortest), each group's N × d_g float32 gradients within `budget`. Undefined when one layer alone exceeds it.
 */
export function gradientGroups(layers: PrunableLayer[], n: number, budget: number): string[][] | undefined {
  const groups: string[][] = [];
  let group: string[] = [],
    bytes = 0;
  for (const l of [...layers].reverse()) {
    const b = 4 * n * l.size;
    if (b > budget) return undefined;
    if (bytes + b > budget) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(l.name);
    bytes += b;
  }
  if (group.length) groups.push(group);
  return groups;
}

/**
 * Peak memory of a one-shot step, and how the step holds what does not fit. In order of preference:
 *  1. all N × d gradients in memory, every inverse block kept from selection to its update ('keep');
 *  2. all gradients in memory, each block rebuilt for its update ('rebuild': twice the block work, one at a time);
 *  3. gradients streamed: computed for one layer group at a time (a gradient pass per group, the backward pass
 *     stopping below the group), their blocks built and the gradients dropped, the inverses kept;
 *  4. streamed and rebuilt: each group's gradients are computed again for its update (two passes per group).
 * Every choice gives the same masks and weights (the same products on the same numbers); only time differs.
 */
export function planMemory(p: PlanInput): Plan {
  const d = p.layers.reduce((a, l) => a + l.size, 0);
  const n = p.samples;
  const limitBytes = p.limitBytes ?? defaultMemoryLimit(p.runtimeBytes);
  const base: Item[] = [
    ...(p.runtimeBytes ? [{ what: RUNTIME, bytes: p.runtimeBytes }] : []),
    { what: 'model weights (TF.js float32, two copies)', bytes: d * 4 * 2 },
    { what: 'weights, saliencies and masks (float64)', bytes: d * (8 * 3 + 1) },
  ];
  if (p.dataBytes) base.push({ what: 'calibration and evaluation inputs', bytes: p.dataBytes });
  base.push(...(p.heldBytes ?? []));
  const plan = (items: Item[], strategy: 'keep' | 'rebuild', gradients: Plan['gradients'], why: string, groups?: string[][]): Plan => {
    const totalBytes = items.reduce((a, i) => a + i.bytes, 0);
    return { items, totalBytes, limitBytes, fits: totalBytes <= limitBytes, strategy, gradients, why, ...(groups ? { groups } : {}) };
  };
  if (!needsGradients(p.method)) return plan(base, 'keep', 'in memory', 'no gradients: the weights alone');
  base.push({
    what: 'working memory of one batch of the gradient pass',
    bytes: p.gradientPassBytes ?? Math.min(GRADIENT_BATCH_BYTES, 3 * n * 2 * d * 4),
  });
  const all: Item = { what: `per-sample gradients (${n} × ${d} float32)`, bytes: 4 * n * d };
  const sum = (items: Item[]) => items.reduce((a, i) => a + i.bytes, 0);
  const streamed = (others: Item[], rebuild: boolean): Plan | undefined => {
    if (!p.stream) return undefined;
    const groups = gradientGroups(p.layers, n, limitBytes - sum([...base, ...others]));
    if (!groups || groups.length < 2) return undefined;
    const size = new Map(p.layers.map(l => [l.name, l.size]));
    const largest = Math.max(...groups.map(g => g.reduce((a, name) => a + size.get(name)!, 0)));
    const why =
      `the ${n} × ${d} gradients (${formatBytes(all.bytes)}) do not fit under the limit (${formatBytes(limitBytes)}): ` +
      `they are computed for ${groups.length} layer groups in turn, ${rebuild ? 'each twice but the last (for the blocks, then again for the update, as the inverse blocks do not fit either)' : 'once each, the inverse blocks kept'}; the result is the same`;
    return plan(
      [
        ...base,
        {
          what: `per-sample gradients of one layer group at a time (${n} × ${largest} float32 at most, ${groups.length} groups)`,
          bytes: 4 * n * largest,
        },
        ...others,
      ],
      rebuild ? 'rebuild' : 'keep',
      'streamed',
      why,
      groups,
    );
  };
  // Nothing fits: the least the run could hold, so that its refusal names what is missing — a caller that streams:
  // the largest layer's gradients alone beside the rest; one that cannot: all of them.
  const least = (others: Item[], strategy: Plan['strategy']): Plan => {
    if (!p.stream)
      return plan(
        [...base, all, ...others],
        strategy,
        'in memory',
        `the ${n} × ${d} gradients (${formatBytes(all.bytes)}) do not fit beside the rest (${formatBytes(sum([...base, ...others]))}), and this run cannot stream them`,
      );
    const largest = Math.max(...p.layers.map(l => l.size));
    const one: Item = { what: `per-sample gradients of the largest layer alone (${n} × ${largest} float32)`, bytes: 4 * n * largest };
    return plan(
      [...base, one, ...others],
      strategy,
      'streamed',
      `not even one layer's gradients at a time fit: the largest layer alone needs ${formatBytes(one.bytes)} (${n} × ${largest} float32) ` +
        `beside ${formatBytes(sum([...base, ...others]))} for the rest`,
    );
  };
  if (!needsInverse(p.method)) {
    const inMemory = plan([...base, all], 'keep', 'in memory', 'the per-sample gradients fit under the limit');
    return inMemory.fits ? inMemory : (streamed([], false) ?? least([], 'keep'));
  }
  const sizes = p.inverseBlocks ?? ((l: PrunableLayer) => blockRanges(l.size, p.blockSize).map(r => r.end - r.start));
  const inv = inverseFootprint(p.layers, n, sizes, p.inverseForm);
  const T = Math.max(1, p.threads ?? 1);
  const k = p.blocksAtOnce ?? blocksPerBatch(n, Math.min(p.blockSize, d), p.inverseForm); // blocks per batched build
  const slice = n * Math.min(p.blockSize, d) * 4;
  const building: Item[] = [
    {
      what: `scratch while building ${T === 1 ? 'one batch' : `${T} batches at once (one per thread)`} of ${k} Fisher-inverse block${k > 1 ? 's' : ''}`,
      bytes: T * k * inv.peak,
    },
    // the gradient rows are shared (perSample.ts): each thread gathers only the batch it builds (blockJobs.ts)
    { what: 'gradient slices each block thread gathers for the batch it builds', bytes: T * k * slice },
    ...(T > 1 ? [{ what: `${T} worker threads (runtime and native library)`, bytes: T * WORKER_THREAD_BYTES }] : []),
  ];
  const kept: Item[] = [{ what: 'Fisher-inverse blocks, all kept until the update', bytes: inv.sum }, ...building];
  const rebuilt: Item[] = [
    { what: `${T * k} Fisher-inverse block(s) at a time (rebuilt for the update)`, bytes: T * k * inv.largest },
    ...building,
  ];
  const keep = plan([...base, all, ...kept], 'keep', 'in memory', 'the per-sample gradients and every inverse block fit under the limit');
  if (keep.fits) return keep;
  const rebuild = plan(
    [...base, all, ...rebuilt],
    'rebuild',
    'in memory',
    `the inverse blocks (${formatBytes(inv.sum)}) do not fit beside the gradients: each is rebuilt for its update (twice the block work)`,
  );
  if (rebuild.fits) return rebuild;
  return streamed(kept, false) ?? streamed(rebuilt, true) ?? least(rebuilt, 'rebuild');
}

/** Throws the user-facing error for a plan over the limit, naming the knobs that fix it. */
export function assertPlanFits(plan: MemoryPlan): void {
  if (plan.fits) return;
  const runtime = plan.items.find(i => i.what === RUNTIME)?.bytes ?? 0;
  if (plan.limitBytes <= runtime)
    throw new WoodFisherError(
      `the memory limit (${formatBytes(plan.limitBytes)}) is below what the runtime holds before the run starts ` +
        `(${formatBytes(runtime)}: V8, TF.js, native libraries); the plan needs ${formatBytes(plan.totalBytes)} in all: raise --max-memory`,
      'MEMORY',
    );
  const biggest = [...plan.items].sort((a, b) => b.bytes - a.bytes)[0];
  throw new WoodFisherError(
    `the memory plan needs ${formatBytes(plan.totalBytes)} but the limit is ${formatBytes(plan.limitBytes)} ` +
      `(${plan.why ? `${plan.why}; ` : ''}largest item: ${biggest.what}, ${formatBytes(biggest.bytes)}). Lower --samples or --block-size, ` +
      `exclude large layers, or raise --max-memory if the machine has the RAM.`,
    'MEMORY',
  );
}
