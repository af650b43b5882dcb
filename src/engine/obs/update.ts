// The OBS weight update after pruning a set Q of one block's weights (PyTorch order).
//   independent (reference code): δw = F⁻¹v, v_q = −w_q/[F⁻¹]_qq on q ∈ Q, 0 elsewhere
//   joint (exact OBS for a set):  δw = −F⁻¹E_Q (E_QᵀF⁻¹E_Q)⁻¹ E_Qᵀw, the minimiser of ½δwᵀFδw s.t. (w + δw)_Q = 0
//   none (OBD):                   δw = 0
// then pruned weights are set exactly to 0.
import { cholesky, cholSolve } from '../linalg/cholesky';
import { WoodFisherError, type UpdateKind } from '../types';
import type { FisherBlockInverse } from '../fisher/blockInverse';
import { mulEach } from '../fisher/inverse';

export interface UpdateOptions {
  jointChunk?: number;
} // |Q| above this: exact joint update chunk by chunk (block elimination)

const JOINT_CHUNK = 2048;

/** Returns the updated weights (new array); pruned weights end exactly 0. */
export function obsUpdate(
  w: Float64Array,
  prune: Uint8Array,
  inv: FisherBlockInverse | null,
  kind: UpdateKind,
  opts: UpdateOptions = {},
): Float64Array {
  if (prune.length !== w.length)
    throw new WoodFisherError(`OBS update: mask has ${prune.length} entries for ${w.length} weights`, 'OPTIONS');
  const Q = prunedIndices(prune);
  let out: Float64Array;
  if (kind === 'none' || Q.length === 0) out = Float64Array.from(w);
  else {
    if (!inv) throw new WoodFisherError(`OBS update '${kind}' needs the Fisher inverse`, 'OPTIONS');
    if (inv.size !== w.length) throw new WoodFisherError(`OBS update: inverse of size ${inv.size} for ${w.length} weights`, 'OPTIONS');
    if (kind === 'independent') out = independent(w, Q, inv);
    else if (kind === 'joint')
      out = Q.length <= (opts.jointChunk ?? JOINT_CHUNK) ? joint(w, Q, inv) : jointChunked(w, Q, inv, opts.jointChunk ?? JOINT_CHUNK);
    else throw new WoodFisherError(`unknown update kind '${kind}'`, 'OPTIONS');
  }
  for (const q of Q) out[q] = 0;
  return out;
}

/** WoodTaylor: the same constrained step on the local model ∇Lᵀδw + ½δwᵀFδw, i.e. δw = −F⁻¹∇L + OBS step of (w − F⁻¹∇L). */
export function woodTaylorUpdate(
  w: Float64Array,
  prune: Uint8Array,
  inv: FisherBlockInverse | null,
  kind: UpdateKind,
  invGrad: Float64Array,
  opts: UpdateOptions = {},
): Float64Array {
  if (kind === 'none') return obsUpdate(w, prune, inv, kind, opts);
  if (invGrad.length !== w.length)
    throw new WoodFisherError(`WoodTaylor update: F⁻¹∇L has ${invGrad.length} entries for ${w.length} weights`, 'OPTIONS');
  const x = new Float64Array(w.length);
  for (let q = 0; q < w.length; q++) x[q] = w[q] - invGrad[q]; // w − F⁻¹∇L
  return obsUpdate(x, prune, inv, kind, opts);
}

/** The independent update of many blocks at once (w, prune: their weights and masks one after another, in the
 *  inverses' sizes): obsUpdate's, with every F⁻¹v in batched products (mulEach). Blocks with nothing pruned are
 *  returned as they were. */
export function independentUpdates(w: Float64Array, prune: Uint8Array, invs: FisherBlockInverse[]): Float64Array {
  if (prune.length !== w.length)
    throw new WoodFisherError(`OBS update: mask has ${prune.length} entries for ${w.length} weights`, 'OPTIONS');
  const v = new Float64Array(w.length);
  let o = 0;
  for (const inv of invs) {
    const d = inv.diag();
    for (let q = 0; q < inv.size; q++) if (prune[o + q]) v[o + q] = -w[o + q] / d[q]; // v_q = −w_q/[F⁻¹]_qq
    o += inv.size;
  }
  if (o !== w.length) throw new WoodFisherError(`OBS update: inverses of ${o} weights for ${w.length}`, 'OPTIONS');
  const dw = mulEach(invs, v), // δw = F⁻¹v
    out = new Float64Array(w.length);
  o = 0;
  for (const inv of invs) {
    let any = false;
    for (let q = o; q < o + inv.size; q++) any ||= prune[q] !== 0;
    for (let q = o; q < o + inv.size; q++) out[q] = !any ? w[q] : prune[q] ? 0 : w[q] + dw[q];
    o += inv.size;
  }
  return out;
}

export function prunedIndices(prune: Uint8Array): Int32Array {
  let k = 0;
  for (let q = 0; q < prune.length; q++) if (prune[q]) k++;
  const Q = new Int32Array(k);
  k = 0;
  for (let q = 0; q < prune.length; q++) if (prune[q]) Q[k++] = q;
  return Q;
}

/** w + F⁻¹v, v_q = −w_q/[F⁻¹]_qq. */
function independent(w: Float64Array, Q: Int32Array, inv: FisherBlockInverse): Float64Array {
  const d = inv.diag(),
    v = new Float64Array(w.length);
  for (const q of Q) v[q] = -w[q] / d[q];
  const dw = inv.mul(v);
  return w.map((x, q) => x + dw[q]);
}

/** w − F⁻¹E_Q y with (E_QᵀF⁻¹E_Q) y = w_Q, solved by Cholesky in float64. */
function joint(w: Float64Array, Q: Int32Array, inv: FisherBlockInverse): Float64Array {
  const k = Q.length,
    wQ = new Float64Array(k);
  for (let i = 0; i < k; i++) wQ[i] = w[Q[i]];
  const y = cholSolve(cholesky(inv.sub(Q), k, 'pruned block of F⁻¹'), wQ, k);
  const v = new Float64Array(w.length);
  for (let i = 0; i < k; i++) v[Q[i]] = y[i];
  const dw = inv.mul(v);
  return w.map((x, q) => x - dw[q]);
}

/**
 * Exact joint update in chunks Q₁, Q₂, …: each chunk is solved against the inverse conditioned on the chunks before it,
 * F⁻¹_(k) = F⁻¹ − Σ_{j<k} C_j S_j⁻¹ C_jᵀ with C_j = F⁻¹_(j) E_{Q_j}, S_j = E_{Q_j}ᵀ C_j (block Gaussian elimination).
 * Memory b·|Q| float64.
 */
function jointChunked(w: Float64Array, Q: Int32Array, inv: FisherBlockInverse, chunk: number): Float64Array {
  const b = w.length,
    x = Float64Array.from(w);
  const done: { C: Float64Array; L: Float64Array; k: number }[] = [];
  for (let c0 = 0; c0 < Q.length; c0 += chunk) {
    const Qk = Q.subarray(c0, c0 + chunk),
      k = Qk.length;
    const C = inv.cols(Qk); // b×k
    for (const p of done) {
      // C −= C_j S_j⁻¹ C_j[Q_k, :]ᵀ
      for (let i = 0; i < k; i++) {
        const row = new Float64Array(p.k);
        for (let t = 0; t < p.k; t++) row[t] = p.C[Qk[i] * p.k + t];
        const z = cholSolve(p.L, row, p.k);
        for (let r = 0; r < b; r++) {
          let s = 0;
          const o = r * p.k;
          for (let t = 0; t < p.k; t++) s += p.C[o + t] * z[t];
          C[r * k + i] -= s;
        }
      }
    }
    const S = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) S[i * k + j] = 0.5 * (C[Qk[i] * k + j] + C[Qk[j] * k + i]);
    const L = cholesky(S, k, 'pruned block of F⁻¹');
    const xQ = new Float64Array(k);
    for (let i = 0; i < k; i++) xQ[i] = x[Qk[i]];
    const y = cholSolve(L, xQ, k);
    for (let r = 0; r < b; r++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += C[r * k + i] * y[i];
      x[r] -= s;
    }
    done.push({ C, L, k });
  }
  return x;
}
