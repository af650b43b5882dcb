// One Fisher block as a plain, serialisable job (design.md): build its inverse and saliency, later apply the OBS
// update. The same functions run inline or in a worker thread (blockPool.ts); a built inverse stays where it was
// built, keyed by the block's id, until its update.
import { WoodFisherError, type InverseForm, type UpdateKind } from '../types';
import { fisherBlockInverse } from './inverse';
import type { FisherBlockInverse } from './blockInverse';
import { obsSaliency, woodTaylorSaliency } from '../obs/saliency';
import { obsUpdate, woodTaylorUpdate } from '../obs/update';
import { meanGradient } from './blocks';

export interface BuildJob {
  op: 'build'; id: number;
  G: Float32Array | Float64Array; n: number; b: number; damp: number; form: InverseForm;
  w: Float64Array;          // the block's weights (PyTorch order)
  taylor: boolean;          // WoodTaylor: also F⁻¹∇L with ∇L = mean of G's rows
  keep: boolean;            // keep the inverse for the update (else it is rebuilt from G then)
}
export interface BuildResult { id: number; saliency: Float64Array; form: string; invGrad?: Float64Array }

export interface UpdateJob {
  op: 'update'; id: number;
  w: Float64Array; mask: Uint8Array; kind: UpdateKind;
  invGrad?: Float64Array;   // WoodTaylor: F⁻¹∇L of the block, from its build
  rebuild?: { G: Float32Array | Float64Array; n: number; b: number; damp: number; form: InverseForm };
}
export interface UpdateResult { id: number; w: Float64Array }

/** ρ_q = w_q²/(2[F⁻¹]_qq), or WoodTaylor's with ∇L; the inverse is kept in `kept` when asked. */
export function buildBlock(job: BuildJob, kept: Map<number, FisherBlockInverse>): BuildResult {
  const inv = fisherBlockInverse(job.G, job.n, job.b, job.damp, job.form);
  const diag = inv.diag();
  let saliency: Float64Array, invGrad: Float64Array | undefined;
  if (job.taylor) {
    const g = meanGradient(job.G, job.n, job.b);
    invGrad = inv.mul(g);
    saliency = woodTaylorSaliency(job.w, diag, invGrad, dot(g, invGrad));
  } else {
    saliency = obsSaliency(job.w, diag);
  }
  if (job.keep) kept.set(job.id, inv);
  return { id: job.id, saliency, form: inv.form, invGrad };
}

/** The OBS update of one block with its kept (or rebuilt) inverse; the inverse is released. */
export function updateBlock(job: UpdateJob, kept: Map<number, FisherBlockInverse>): UpdateResult {
  let inv: FisherBlockInverse | null = kept.get(job.id) ?? null;
  kept.delete(job.id);
  if (!inv && job.kind !== 'none') {
    const r = job.rebuild;
    if (!r) throw new WoodFisherError(`Fisher block ${job.id}: no inverse kept and nothing to rebuild it from`, 'NUMERIC');
    inv = fisherBlockInverse(r.G, r.n, r.b, r.damp, r.form);
  }
  const w = job.invGrad ? woodTaylorUpdate(job.w, job.mask, inv, job.kind, job.invGrad) : obsUpdate(job.w, job.mask, inv, job.kind);
  return { id: job.id, w };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
