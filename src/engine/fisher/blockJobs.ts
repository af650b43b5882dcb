// One Fisher block as a plain, serialisable job (design.md): build its inverse and saliency, later apply the OBS
// update. The same functions run inline or in a worker thread (blockPool.ts); a built inverse stays where it was
// built, keyed by the block's id, until its update. Jobs travel in batches: consecutive blocks of one shape are
// built by one fisherBlockInverses call (each product one call for all of them).
import { WoodFisherError, type InverseForm, type UpdateKind } from '../types';
import { fisherBlockInverses } from './inverse';
import type { FisherBlockInverse } from './blockInverse';
import { obsSaliency, woodTaylorSaliency } from '../obs/saliency';
import { obsUpdate, woodTaylorUpdate } from '../obs/update';
import { gatherColumns, meanGradient, type GradientColumns } from './blocks';
import { recycle, takeBuffer } from '../linalg/scratch';

/** A block's n×b gradients: the matrix, or (until its batch leaves: gatherBatch) where to gather it from. */
export type BlockGradients = Float32Array | Float64Array | GradientColumns;

export interface BuildJob {
  op: 'build';
  id: number;
  G: BlockGradients;
  n: number;
  b: number;
  damp: number;
  form: InverseForm;
  w: Float64Array; // the block's weights (PyTorch order)
  taylor: boolean; // WoodTaylor: also F⁻¹∇L with ∇L = mean of G's rows
  keep: boolean; // keep the inverse for the update (else it is rebuilt from G then)
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
  invGrad?: Float64Array; // WoodTaylor: F⁻¹∇L of the block, from its build
  rebuild?: { G: BlockGradients; n: number; b: number; damp: number; form: InverseForm };
}
export interface UpdateResult {
  id: number;
  w: Float64Array;
}

/** Gathers the gradients of a batch's jobs (builds, or rebuilds of updates) into one buffer of the scratch pool, in
 *  place: after this every job's G is a view of it, in job order; returns the buffer (undefined when every job carried
 *  its matrix already). No job reads G after its batch's build, so the caller may recycle the buffer then. */
export function gatherBatch(jobs: (BuildJob | UpdateJob)[]): ArrayBuffer | undefined {
  const holders = jobs.flatMap(j => ('G' in j ? [j] : j.rebuild ? [j.rebuild] : [])).filter(h => isColumns(h.G));
  if (!holders.length) return undefined;
  const views = gatherColumns(holders.map(h => h.G as GradientColumns));
  holders.forEach((h, i) => (h.G = views[i]));
  return views[0].buffer as ArrayBuffer;
}

const isColumns = (G: BlockGradients): G is GradientColumns => !ArrayBuffer.isView(G);

/** A job's gradients once its batch has been gathered. */
function matrix(G: BlockGradients): Float32Array | Float64Array {
  if (isColumns(G)) throw new Error('block job: gradients not gathered (gatherBatch) before the build');
  return G;
}

/** Blocks that can share one batched build: same N, b, λ and form. */
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

/** The inverses of equally shaped blocks, built together; G of each is n×b. */
function inversesOf(parts: { G: BlockGradients; n: number; b: number; damp: number; form: InverseForm }[]): FisherBlockInverse[] {
  const { n, b, damp, form } = parts[0];
  const Gs = parts.map(p => matrix(p.G));
  if (parts.length === 1) return fisherBlockInverses(Gs[0], 1, n, b, damp, form);
  const whole = adjacent(Gs); // gathered by gatherBatch: already one after another
  if (whole) return fisherBlockInverses(whole, parts.length, n, b, damp, form); // the jobs still read their views
  return fisherBlockInverses(concat(Gs), parts.length, n, b, damp, form, true); // a copy of ours: hand it over
}

/** One view over the arrays when they lie one after another in one buffer (same type), else undefined. */
function adjacent(arrays: (Float32Array | Float64Array)[]): Float32Array | Float64Array | undefined {
  const [a] = arrays;
  let end = a.byteOffset;
  for (const x of arrays) {
    if (x.buffer !== a.buffer || x.constructor !== a.constructor || x.byteOffset !== end) return undefined;
    end += x.byteLength;
  }
  const len = (end - a.byteOffset) / a.BYTES_PER_ELEMENT;
  return a instanceof Float32Array ? new Float32Array(a.buffer, a.byteOffset, len) : new Float64Array(a.buffer, a.byteOffset, len);
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
export function buildBlocks(jobs: BuildJob[], kept: Map<number, FisherBlockInverse>): BuildResult[] {
  const out: BuildResult[] = [];
  for (const run of runsOf(jobs, shapeKey)) {
    const invs = inversesOf(run);
    run.forEach((job, i) => out.push(saliencyOf(job, invs[i], kept)));
    if (!run.some(j => j.keep)) recycleBatch(invs);
  }
  return out;
}

export function buildBlock(job: BuildJob, kept: Map<number, FisherBlockInverse>): BuildResult {
  return buildBlocks([job], kept)[0];
}

function saliencyOf(job: BuildJob, inv: FisherBlockInverse, kept: Map<number, FisherBlockInverse>): BuildResult {
  const diag = inv.diag();
  let saliency: Float64Array, invGrad: Float64Array | undefined;
  if (job.taylor) {
    const g = meanGradient(matrix(job.G), job.n, job.b);
    invGrad = inv.mul(g);
    saliency = woodTaylorSaliency(job.w, diag, invGrad, dot(g, invGrad));
  } else {
    saliency = obsSaliency(job.w, diag);
  }
  if (job.keep) kept.set(job.id, inv);
  return { id: job.id, saliency, form: inv.form, invGrad };
}

/** The OBS update of each job's block with its kept (or rebuilt, in batches) inverse; inverses are released. */
export function updateBlocks(jobs: UpdateJob[], kept: Map<number, FisherBlockInverse>): UpdateResult[] {
  const inv = new Map<number, FisherBlockInverse>();
  for (const job of jobs) {
    const k = kept.get(job.id);
    if (k) inv.set(job.id, k);
    kept.delete(job.id);
  }
  const missing = jobs.filter(j => !inv.has(j.id) && j.kind !== 'none');
  for (const j of missing) {
    if (!j.rebuild) throw new WoodFisherError(`Fisher block ${j.id}: no inverse kept and nothing to rebuild it from`, 'NUMERIC');
  }
  for (const run of runsOf(missing, j => shapeKey(j.rebuild!))) {
    inversesOf(run.map(j => j.rebuild!)).forEach((x, i) => inv.set(run[i].id, x));
  }
  const out = jobs.map(job => {
    const x = inv.get(job.id) ?? null;
    const w = job.invGrad ? woodTaylorUpdate(job.w, job.mask, x, job.kind, job.invGrad) : obsUpdate(job.w, job.mask, x, job.kind);
    return { id: job.id, w };
  });
  recycleBatch([...inv.values()], kept);
  return out;
}

/** Gives the inverses' storage back to the scratch pool (the next batch's outputs are written there, not into fresh
 *  pages: docs/performance.md), except buffers a block still in `kept` shares. The inverses must not be used after. */
function recycleBatch(invs: FisherBlockInverse[], kept?: Map<number, FisherBlockInverse>): void {
  const shared = new Set(kept ? [...kept.values()].map(x => x.storage()) : []);
  recycle(...new Set(invs.map(x => x.storage()).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && !shared.has(b))));
}

export function updateBlock(job: UpdateJob, kept: Map<number, FisherBlockInverse>): UpdateResult {
  return updateBlocks([job], kept)[0];
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
