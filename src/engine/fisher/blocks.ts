// Cutting a layer's weights (flattened in the paper's PyTorch layout) into contiguous Fisher blocks.
import { WoodFisherError } from '../types';
import { takeBuffer } from '../linalg/scratch';
import { backendGather } from '../linalg/gemm';

export interface BlockRange {
  start: number;
  end: number;
} // [start, end) in a layer's flattened PyTorch-order weights

/** Contiguous chunks of blockSize (the last one shorter); one layer at a time, so blocks never span layers. */
export function blockRanges(d: number, blockSize: number): BlockRange[] {
  if (!Number.isInteger(d) || d < 0) throw new WoodFisherError(`layer size must be a non-negative integer (got ${d})`, 'OPTIONS');
  if (!Number.isInteger(blockSize) || blockSize < 1)
    throw new WoodFisherError(`block size must be a positive integer (got ${blockSize})`, 'OPTIONS');
  const out: BlockRange[] = [];
  for (let s = 0; s < d; s += blockSize) out.push({ start: s, end: Math.min(d, s + blockSize) });
  return out;
}

/** Columns r of an n×d row-major gradient matrix → n×b (b = r.end − r.start). `out` (length ≥ n·b) is reused if given. */
export function gatherBlock(
  G: Float32Array,
  n: number,
  d: number,
  r: BlockRange,
  out?: Float64Array | Float32Array,
): Float32Array | Float64Array {
  const b = r.end - r.start;
  if (r.start < 0 || r.end > d || b < 0)
    throw new WoodFisherError(`block [${r.start}, ${r.end}) outside a layer of ${d} weights`, 'OPTIONS');
  if (G.length < n * d) throw new WoodFisherError(`gradient matrix has ${G.length} values, expected ${n}×${d}`, 'OPTIONS');
  const X = out && out.length >= n * b ? (out.length === n * b ? out : out.subarray(0, n * b)) : new Float32Array(n * b);
  for (let k = 0; k < n; k++) X.set(G.subarray(k * d + r.start, k * d + r.end), k * b);
  return X;
}

/** Columns [start, end) of a layer's n×d row-major gradient rows, not copied yet: a block job carries this until its
 *  batch leaves, and the batch's blocks are then gathered into one buffer (gatherColumns). */
export interface GradientColumns {
  rows: Float32Array;
  n: number;
  d: number;
  start: number;
  end: number;
}

/** The blocks' n×b gradient matrices one after another in one buffer of the scratch pool, as views (equal n): runs of
 *  blocks of one layer are copied by the backend's native gather where it has one (the OpenBLAS addon), else row by
 *  row here, each row's columns of every block in turn. Every value of the buffer is written. */
export function gatherColumns(parts: GradientColumns[]): Float32Array[] {
  const n = parts[0].n;
  if (parts.some(p => p.n !== n)) throw new WoodFisherError('gatherColumns: blocks of one batch have one N', 'OPTIONS');
  const offsets: number[] = [];
  let len = 0;
  for (const p of parts) {
    if (p.start < 0 || p.end > p.d || p.end < p.start || p.rows.length < n * p.d)
      throw new WoodFisherError(`block [${p.start}, ${p.end}) outside a layer of ${p.d} weights`, 'OPTIONS');
    offsets.push(len);
    len += n * (p.end - p.start);
  }
  const out = new Float32Array(takeBuffer(4 * len));
  const native = backendGather();
  for (let i = 0; i < parts.length;) {
    // a run: consecutive blocks of one layer and one width, lying one after another in `out`
    const p = parts[i],
      b = p.end - p.start;
    let j = i + 1;
    while (j < parts.length && parts[j].rows === p.rows && parts[j].d === p.d && parts[j].end - parts[j].start === b) j++;
    const run = parts.slice(i, j);
    if (native)
      native(
        p.rows,
        p.d,
        Float64Array.from(run, r => r.start),
        n,
        b,
        run.length,
        out.subarray(offsets[i], offsets[i] + run.length * n * b),
      );
    else
      for (let k = 0; k < n; k++)
        run.forEach((r, c) => out.set(r.rows.subarray(k * r.d + r.start, k * r.d + r.end), offsets[i + c] + k * b));
    i = j;
  }
  return parts.map((p, i) => out.subarray(offsets[i], offsets[i] + n * (p.end - p.start)));
}

/** Diagonal Fisher: F_qq = λ + (1/N) Σ_n g_nq². */
export function diagFisher(G: Float32Array, n: number, d: number, damp: number): Float64Array {
  const f = new Float64Array(d);
  for (let k = 0; k < n; k++) {
    const o = k * d;
    for (let q = 0; q < d; q++) f[q] += G[o + q] * G[o + q];
  }
  const s = n > 0 ? 1 / n : 0;
  for (let q = 0; q < d; q++) f[q] = damp + f[q] * s;
  return f;
}

/** Mean gradient ∇L = (1/N) Σ_n g_n (WoodTaylor's first-order term), length d. */
export function meanGradient(G: Float32Array | Float64Array, n: number, d: number): Float64Array {
  const m = new Float64Array(d);
  for (let k = 0; k < n; k++) {
    const o = k * d;
    for (let q = 0; q < d; q++) m[q] += G[o + q];
  }
  if (n > 0) for (let q = 0; q < d; q++) m[q] /= n;
  return m;
}
