// Fisher blocks as plain, serialisable jobs (design.md): build their inverses and saliency, later apply the OBS
// update. A job is one block or a run of consecutive equal blocks of one layer (`blocks`), so that many small blocks
// cost one job, one message and one promise per run instead of one each. The same functions run inline or in a worker
// thread (blockPool.ts); built inverses stay where they were built, keyed by the job's id, until its update. Jobs
// travel in batches: all blocks of a batch's equally shaped jobs are built by one fisherBlockInverses call.
import { WoodFisherError, type InverseForm, type UpdateKind } from '../types';
import { fisherBlockInverses } from './inverse';
import type { FisherBlockInverse } from './blockInverse';
import { obsSaliency, woodTaylorSaliency } from '../obs/saliency';
import { independentUpdates, obsUpdate, woodTaylorUpdate } from '../obs/update';
import { gatherColumns, meanGradient, type GradientColumns } from './blocks';
import { adjacent, concatenated, recycle, takeBuffer } from '../linalg/scratch';

/** A job's gradients: its blocks' n×b matrices one after another, or (until its batch leaves: gatherBatch) the
 *  layer columns they come from. */
export type BlockGradients = Float32Array | Float64Array | GradientColumns;

/** Built inverses kept for their update, by job id (one per block of the job), with how many kept blocks each storage
 *  buffer still serves (the blocks of one batched build share one): a buffer goes back to the scratch pool only once
 *  none does, in O(1) per block (a scan of every kept block per batch was quadratic: 17 µs a block at 20k blocks). */
export class Kept {
  private readonly byId = new Map<number, FisherBlockInverse[]>();
  private readonly users = new Map<ArrayBufferLike, number>();

  set(id: number, invs: FisherBlockInverse[]): void {
    this.take(id);
    this.byId.set(id, invs);
    for (const x of invs) this.users.set(x.storage(), (this.users.get(x.storage()) ?? 0) + 1);
  }

  /** The job's inverses, no longer kept (undefined when none were). */
  take(id: number): FisherBlockInverse[] | undefined {
    const invs = this.byId.get(id);
    if (!invs) return undefined;
    this.byId.delete(id);
    for (const x of invs) {
      const left = this.users.get(x.storage())! - 1;
      if (left > 0) this.users.set(x.storage(), left);
      else this.users.delete(x.storage());
    }
    return invs;
  }

  /** Whether a kept block still lives in `buffer`. */
  holds(buffer: ArrayBufferLike): boolean {
    return this.users.has(buffer);
  }

  /** Jobs with inverses kept. */
  get size(): number {
    return this.byId.size;
  }

  clear(): void {
    this.byId.clear();
    this.users.clear();
  }
}

export interface BuildJob {
  op: 'build';
  id: number;
  G: BlockGradients;
  n: number;
  b: number; // the size of each of its blocks
  blocks?: number; // consecutive blocks of size b (default 1); w, saliency and invGrad hold blocks·b values
  damp: number;
  form: InverseForm;
  w: Float64Array; // the blocks' weights (PyTorch order)
  taylor: boolean; // WoodTaylor: also F⁻¹∇L with ∇L = mean of G's rows
  keep: boolean; // keep the inverses for the update (else they are rebuilt from G then)
}
export interface BuildResult {
  id: number;
  saliency: Float64Array;
  form: string;
  invGrad?: Float64Array;
}

export interface UpdateJob {
  op: 'update';
  id: number;
  w: Float64Array;
  mask: Uint8Array;
  kind: UpdateKind;
  invGrad?: Float64Array; // WoodTaylor: F⁻¹∇L of the blocks, from their build
  rebuild?: { G: BlockGradients; n: number; b: number; blocks?: number; damp: number; form: InverseForm };
}
export interface UpdateResult {
  id: number;
  w: Float64Array;
}

type Gradients = { G: BlockGradients; n: number; b: number; blocks?: number; damp: number; form: InverseForm };

/** Gathers the gradients of a batch's jobs (builds, or rebuilds of updates) into one buffer of the scratch pool, in
 *  place: after this every job's G is a view of it, in job order; returns the buffer (undefined when every job carried
 *  its matrix already). No job reads G after its batch's build, so the caller may recycle the buffer then. The build
 *  and update below gather what is left; a runner gathers first where the jobs would not travel as they are. */
export function gatherBatch(jobs: (BuildJob | UpdateJob)[]): ArrayBuffer | undefined {
  const holders: Gradients[] = jobs.flatMap(j => ('G' in j ? [j] : j.rebuild ? [j.rebuild] : [])).filter(h => isColumns(h.G));
  if (!holders.length) return undefined;
  for (const h of holders) {
    const c = h.G as GradientColumns;
    if (c.end - c.start !== (h.blocks ?? 1) * h.b)
      throw new WoodFisherError(`block job: columns [${c.start}, ${c.end}) are not ${h.blocks ?? 1} blocks of ${h.b}`, 'OPTIONS');
  }
  // each job's columns as its blocks, block after block: the batch matrix the build takes
  const parts = holders.flatMap(h => {
    const c = h.G as GradientColumns;
    return Array.from({ length: h.blocks ?? 1 }, (_, i) => ({ ...c, start: c.start + i * h.b, end: c.start + (i + 1) * h.b }));
  });
  const views = gatherColumns(parts);
  let v = 0;
  for (const h of holders) {
    const k = h.blocks ?? 1;
    h.G = adjacent(views.slice(v, (v += k)))!;
  }
  return views[0].buffer as ArrayBuffer;
}

const isColumns = (G: BlockGradients): G is GradientColumns => !ArrayBuffer.isView(G);

/** Whether the jobs' gradients can travel to a block thread as they are: matrices (moved), or columns of gradient rows
 *  in shared memory (the thread gathers them itself). Columns of unshared rows would be copied whole: gather first. */
export function shareable(jobs: (BuildJob | UpdateJob)[]): boolean {
  return jobs.every(j => {
    const G = 'G' in j ? j.G : j.rebuild?.G;
    return !G || !isColumns(G) || G.rows.buffer instanceof SharedArrayBuffer;
  });
}

/** A job's gradients once its batch has been gathered. */
function matrix(G: BlockGradients): Float32Array | Float64Array {
  if (isColumns(G)) throw new Error('block job: gradients not gathered (gatherBatch) before the build');
  return G;
}

/** Jobs whose blocks can share one batched build: same N, b, λ and form. */
const shapeKey = (j: { n: number; b: number; damp: number; form: InverseForm }) => `${j.n}×${j.b} λ${j.damp} ${j.form}`;

/** Consecutive runs of jobs with one key. */
function runsOf<T>(items: T[], key: (t: T) => string): T[][] {
  const runs: T[][] = [];
  for (const t of items) {
    const last = runs[runs.length - 1];
    if (last && key(last[0]) === key(t)) last.push(t);
    else runs.push([t]);
  }
  return runs;
}

/** The inverses of equally shaped jobs' blocks, built together, job after job, block after block. */
function inversesOf(jobs: Gradients[]): FisherBlockInverse[] {
  const { n, b, damp, form } = jobs[0];
  const Gs = jobs.map(j => matrix(j.G));
  const count = jobs.reduce((c, j) => c + (j.blocks ?? 1), 0);
  Gs.forEach((G, i) => {
    if (G.length !== (jobs[i].blocks ?? 1) * n * b)
      throw new WoodFisherError(`block job: ${G.length} gradient values for ${jobs[i].blocks ?? 1} blocks of ${n}×${b}`, 'OPTIONS');
  });
  if (Gs.length === 1) return fisherBlockInverses(Gs[0], count, n, b, damp, form);
  const whole = adjacent(Gs); // gathered by gatherBatch: already one after another
  if (whole) return fisherBlockInverses(whole, count, n, b, damp, form); // the jobs still read their views
  return fisherBlockInverses(concat(Gs), count, n, b, damp, form, true); // a copy of ours: hand it over
}

/** The arrays one after another, in a buffer of the scratch pool (it comes back there from the onnxruntime thread). */
function concat(arrays: (Float32Array | Float64Array)[]): Float32Array | Float64Array {
  const len = arrays.reduce((s, a) => s + a.length, 0);
  const out = arrays.some(a => a instanceof Float64Array) ? new Float64Array(takeBuffer(8 * len)) : new Float32Array(takeBuffer(4 * len));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** ρ_q = w_q²/(2[F⁻¹]_qq), or WoodTaylor's with ∇L, for every job; inverses kept in `kept` when asked. */
export function buildBlocks(jobs: BuildJob[], kept: Kept): BuildResult[] {
  const gathered = gatherBatch(jobs); // the batch's gradients, back in this thread's pool after its build
  try {
    const out: BuildResult[] = [];
    for (const run of runsOf(jobs, shapeKey)) {
      const invs = inversesOf(run);
      let i = 0;
      for (const job of run) out.push(saliencyOf(job, invs.slice(i, (i += job.blocks ?? 1)), kept));
      if (!run.some(j => j.keep)) recycleBatch(invs);
    }
    return out;
  } finally {
    recycle(gathered);
  }
}

/** The job's saliency (and WoodTaylor's F⁻¹∇L), block by block into one array each. */
function saliencyOf(job: BuildJob, invs: FisherBlockInverse[], kept: Kept): BuildResult {
  const { b, n } = job,
    G = matrix(job.G);
  const saliency = new Float64Array(invs.length * b),
    invGrad = job.taylor ? new Float64Array(invs.length * b) : undefined;
  invs.forEach((inv, i) => {
    const diag = inv.diag(),
      w = job.w.subarray(i * b, (i + 1) * b);
    if (invGrad) {
      const g = meanGradient(G.subarray(i * n * b, (i + 1) * n * b), n, b);
      const u = inv.mul(g);
      invGrad.set(u, i * b);
      woodTaylorSaliency(w, diag, u, dot(g, u), saliency.subarray(i * b, (i + 1) * b));
    } else {
      obsSaliency(w, diag, saliency.subarray(i * b, (i + 1) * b));
    }
  });
  if (job.keep) kept.set(job.id, invs);
  return { id: job.id, saliency, form: invs[0]?.form ?? 'none', invGrad };
}

/** The OBS update of each job's blocks with their kept (or rebuilt, in batches) inverses; inverses are released. */
export function updateBlocks(jobs: UpdateJob[], kept: Kept): UpdateResult[] {
  const inv = new Map<number, FisherBlockInverse[]>();
  for (const job of jobs) {
    const k = kept.take(job.id);
    if (k) inv.set(job.id, k);
  }
  const missing = jobs.filter(j => !inv.has(j.id) && j.kind !== 'none');
  for (const j of missing) {
    if (!j.rebuild) throw new WoodFisherError(`Fisher block ${j.id}: no inverse kept and nothing to rebuild it from`, 'NUMERIC');
  }
  const gathered = gatherBatch(missing);
  try {
    for (const run of runsOf(missing, j => shapeKey(j.rebuild!))) {
      const invs = inversesOf(run.map(j => j.rebuild!));
      let i = 0;
      for (const j of run) inv.set(j.id, invs.slice(i, (i += j.rebuild!.blocks ?? 1)));
    }
  } finally {
    recycle(gathered);
  }
  const out = new Map<number, Float64Array>();
  // independent: every block of the batch in batched products (mulEach), from w − F⁻¹∇L for WoodTaylor
  const independent = jobs.filter(j => j.kind === 'independent' && inv.has(j.id));
  if (independent.length) {
    for (const j of independent) {
      const size = inv.get(j.id)!.reduce((a, x) => a + x.size, 0);
      if (j.mask.length !== j.w.length || size !== j.w.length || (j.invGrad && j.invGrad.length !== j.w.length))
        throw new WoodFisherError(
          `OBS update of block job ${j.id}: ${j.w.length} weights, ${j.mask.length} mask entries, inverses of ${size}${j.invGrad ? `, F⁻¹∇L of ${j.invGrad.length}` : ''}`,
          'OPTIONS',
        );
    }
    // one job: its own arrays, not a copy (independentUpdates only reads them)
    const cat = <T extends Float64Array | Uint8Array>(xs: T[]) => (xs.length === 1 ? xs[0] : concatenated(xs));
    const w = cat(independent.map(j => (j.invGrad ? j.w.map((x, q) => x - j.invGrad![q]) : j.w)));
    const updated = independentUpdates(
      w,
      cat(independent.map(j => j.mask)),
      independent.flatMap(j => inv.get(j.id)!),
    );
    let o = 0;
    for (const j of independent) out.set(j.id, updated.slice(o, (o += j.w.length)));
  }
  for (const job of jobs) {
    if (out.has(job.id)) continue;
    const xs = inv.get(job.id);
    const k = xs?.length ?? job.rebuild?.blocks ?? 1,
      b = job.w.length / k;
    const w = new Float64Array(job.w.length);
    for (let i = 0; i < k; i++) {
      const part = (a: Float64Array) => a.subarray(i * b, (i + 1) * b);
      const x = xs?.[i] ?? null,
        m = job.mask.subarray(i * b, (i + 1) * b);
      w.set(job.invGrad ? woodTaylorUpdate(part(job.w), m, x, job.kind, part(job.invGrad)) : obsUpdate(part(job.w), m, x, job.kind), i * b);
    }
    out.set(job.id, w);
  }
  recycleBatch([...inv.values()].flat(), kept);
  return jobs.map(job => ({ id: job.id, w: out.get(job.id)! }));
}

/** Gives the inverses' storage back to the scratch pool (the next batch's outputs are written there, not into fresh
 *  pages: docs/performance.md), except buffers a block still in `kept` shares. The inverses must not be used after. */
function recycleBatch(invs: FisherBlockInverse[], kept?: Kept): void {
  recycle(...new Set(invs.map(x => x.storage()).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && !kept?.holds(b))));
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
