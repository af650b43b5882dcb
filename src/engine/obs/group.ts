// Group OBS: removing a whole group Q of one block's weights at once (a Dense neuron's / conv filter's incoming weights,
// one contiguous row in the paper's layout).
//   saliency  ρ_Q = ½ w_Qᵀ (E_QᵀF⁻¹E_Q)⁻¹ w_Q            (loss increase of zeroing Q, the rest moved optimally)
//   update    δw  = −F⁻¹E_Q (E_QᵀF⁻¹E_Q)⁻¹ E_Qᵀw        (the joint OBS update of obs/update.ts, over the union of groups)
import { cholesky, cholSolve } from '../linalg/cholesky';
import { WoodFisherError } from '../types';
import type { BlockRange } from '../fisher/blocks';
import type { FisherBlockInverse } from '../fisher/blockInverse';
import { obsUpdate } from './update';

/** ρ_Q = ½ w_Qᵀ (E_QᵀF⁻¹E_Q)⁻¹ w_Q for one group Q (indices into the block). */
export function groupSaliency(w: Float64Array, Q: Int32Array, inv: FisherBlockInverse): number {
  const k = Q.length,
    wQ = new Float64Array(k);
  for (let i = 0; i < k; i++) wQ[i] = w[Q[i]];
  let zero = true;
  for (let i = 0; i < k; i++)
    if (wQ[i] !== 0) {
      zero = false;
      break;
    }
  if (zero) return 0;
  const y = cholSolve(cholesky(inv.sub(Q), k, 'group block of F⁻¹'), wQ, k);
  let s = 0;
  for (let i = 0; i < k; i++) s += wQ[i] * y[i];
  return 0.5 * s;
}

/** Group saliencies of every row [r·rowLength, (r+1)·rowLength) of a block holding whole rows. */
export function rowSaliencies(w: Float64Array, rowLength: number, inv: FisherBlockInverse): Float64Array {
  if (w.length % rowLength !== 0)
    throw new WoodFisherError(`group saliency: a block of ${w.length} weights does not hold whole rows of ${rowLength}`, 'OPTIONS');
  const rows = w.length / rowLength,
    out = new Float64Array(rows);
  const Q = new Int32Array(rowLength);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < rowLength; i++) Q[i] = r * rowLength + i;
    out[r] = groupSaliency(w, Q, inv);
  }
  return out;
}

/** A block that is one group: (E_QᵀF⁻¹E_Q)⁻¹ = F, so ρ = ½ wᵀFw = ½(λ‖w‖² + (1/N)‖Gw‖²), no inverse needed (G: n×b). */
export function wholeBlockSaliency(G: ArrayLike<number>, n: number, w: Float64Array, damp: number): number {
  const b = w.length;
  let ww = 0,
    gw2 = 0;
  for (let q = 0; q < b; q++) ww += w[q] * w[q];
  for (let k = 0; k < n; k++) {
    let t = 0;
    const o = k * b;
    for (let q = 0; q < b; q++) t += G[o + q] * w[q];
    gw2 += t * t;
  }
  return 0.5 * (damp * ww + (n > 0 ? gw2 / n : 0));
}

/** w + δw with δw = −F⁻¹E_Q (E_QᵀF⁻¹E_Q)⁻¹ E_Qᵀw, Q the union of the pruned rows; pruned rows end exactly 0. */
export function groupUpdate(
  w: Float64Array,
  rowLength: number,
  prunedRows: ArrayLike<number>,
  inv: FisherBlockInverse | null,
): Float64Array {
  const mask = new Uint8Array(w.length);
  for (let t = 0; t < prunedRows.length; t++) mask.fill(1, prunedRows[t] * rowLength, (prunedRows[t] + 1) * rowLength);
  return obsUpdate(w, mask, inv, inv ? 'joint' : 'none');
}

/** Fisher blocks of whole rows: ⌊B/rowLength⌋ rows each (at least one row, even when a row is longer than B). */
export function rowAlignedRanges(d: number, rowLength: number, blockSize: number): BlockRange[] {
  if (!Number.isInteger(rowLength) || rowLength < 1 || d % rowLength !== 0)
    throw new WoodFisherError(`a layer of ${d} weights has no rows of ${rowLength}`, 'OPTIONS');
  if (!Number.isInteger(blockSize) || blockSize < 1)
    throw new WoodFisherError(`block size must be a positive integer (got ${blockSize})`, 'OPTIONS');
  const step = Math.max(1, Math.floor(blockSize / rowLength)) * rowLength;
  const out: BlockRange[] = [];
  for (let s = 0; s < d; s += step) out.push({ start: s, end: Math.min(d, s + step) });
  return out;
}
