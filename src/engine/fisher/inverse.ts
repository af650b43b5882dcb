// One Fisher block's inverse, F = λI + (1/N) Σ_n g_n g_nᵀ, in whichever form is cheaper.
// Cost per block: primal O(N b² + b³), memory b²; dual O(N² b + N³), memory N·b; recursive (paper) O(N b²), memory b².
import { WoodFisherError, type InverseForm } from '../types';
import type { BuiltForm, FisherBlockInverse } from './blockInverse';
import { PrimalInverse, primalInverses, recursiveInverse } from './dense';
import { DualInverse, dualInverses } from './dual';

/** F = λI + (1/N) Σ_n g_n g_nᵀ for one block. G is n×b row-major (row k = sample k's gradient on the block). */
export function fisherBlockInverse(
  G: Float32Array | Float64Array,
  n: number,
  b: number,
  damp: number,
  form: InverseForm = 'auto',
): FisherBlockInverse {
  return fisherBlockInverses(G, 1, n, b, damp, form)[0];
}

/** The inverses of `count` blocks of equal shape, G = their n×b matrices one after another. Every product of the
 *  primal and dual forms is one call for the whole batch (per-block overhead, not flops, dominated small blocks). */
export function fisherBlockInverses(
  G: Float32Array | Float64Array,
  count: number,
  n: number,
  b: number,
  damp: number,
  form: InverseForm = 'auto',
  owned = false, // G may be handed over (detached) instead of copied
): FisherBlockInverse[] {
  if (!Number.isInteger(n) || !Number.isInteger(b) || !Number.isInteger(count) || n < 0 || b < 1 || count < 1) {
    throw new WoodFisherError(`Fisher block: bad shape ${count}×${n}×${b}`, 'OPTIONS');
  }
  if (G.length !== count * n * b)
    throw new WoodFisherError(
      `Fisher block: gradient matrix has ${G.length} values, expected ${count === 1 ? '' : `${count}×`}${n}×${b}`,
      'OPTIONS',
    );
  if (!(damp > 0) || !Number.isFinite(damp)) throw new WoodFisherError(`damping λ must be a positive number (got ${damp})`, 'OPTIONS');
  const f = form === 'auto' ? chooseForm(n, b) : form;
  const invs: FisherBlockInverse[] | null =
    f === 'primal'
      ? primalInverses(G, n, b, damp, count, owned)
      : f === 'dual'
        ? dualInverses(G, n, b, damp, count, owned)
        : f === 'recursive'
          ? Array.from({ length: count }, (_, c) => recursiveInverse(G.subarray(c * n * b, (c + 1) * n * b), n, b, damp))
          : null;
  if (!invs) throw new WoodFisherError(`unknown inverse form '${form}'`, 'OPTIONS');
  for (const inv of invs) {
    const d = inv.diag();
    for (let q = 0; q < b; q++) {
      if (!(d[q] > 0) || !Number.isFinite(d[q])) {
        throw new WoodFisherError(
          `Fisher block inverse (${f}, λ = ${damp}) has [F⁻¹]_${q}${q} = ${d[q]}: precision lost; increase the damping λ${f === 'recursive' ? ' or use the primal/dual form' : ''}`,
          'NUMERIC',
        );
      }
    }
  }
  return invs;
}

/** F⁻¹v of each block, V = their vectors one after another (sizes from the inverses): consecutive blocks of one
 *  batched build take two batched products per 256 KB chunk (per-block products cost more in calls than in flops: the
 *  update of 20k blocks of MobileNetV2-224); blocks alone, or a run whose matrices turn out not to lie one after
 *  another, one mul each. */
export function mulEach(invs: FisherBlockInverse[], V: Float64Array): Float64Array {
  const total = invs.reduce((s, x) => s + x.size, 0);
  if (total !== V.length) throw new WoodFisherError(`F⁻¹v: ${V.length} values for blocks of ${total} weights`, 'OPTIONS');
  const out = new Float64Array(V.length);
  let o = 0;
  for (const run of batchRuns(invs)) {
    const len = run.reduce((s, x) => s + x.size, 0),
      v = V.subarray(o, o + len);
    const batched = run.length < 2 ? undefined : inChunks(run, v);
    if (batched) out.set(batched, o);
    else {
      let p = o;
      for (const x of run) {
        out.set(x.mul(V.subarray(p, p + x.size)), p);
        p += x.size;
      }
    }
    o += len;
  }
  return out;
}

const CHUNK_BYTES = 256 * 1024; // a chunk's matrices stay in cache between its two products (one pass from memory, not two)

/** F⁻¹v of one run in batched products, chunk by chunk; undefined where the run does not batch. */
function inChunks(run: FisherBlockInverse[], V: Float64Array): Float64Array | undefined {
  const b = run[0].size,
    per = Math.max(
      1,
      Math.floor(CHUNK_BYTES / inverseBytes(run[0] instanceof DualInverse ? (run[0] as DualInverse).n : b, b, run[0].form)),
    );
  const out = new Float64Array(V.length);
  for (let c = 0; c < run.length; c += per) {
    const part = run.slice(c, c + per),
      v = V.subarray(c * b, (c + part.length) * b);
    const x =
      part[0] instanceof DualInverse
        ? DualInverse.mulEach(part as DualInverse[], v)
        : part[0] instanceof PrimalInverse
          ? PrimalInverse.mulEach(part as PrimalInverse[], v)
          : undefined;
    if (!x) return undefined;
    out.set(x, c * b);
  }
  return out;
}

/** Consecutive inverses of one class, size and storage buffer (candidates for one batched product). */
function batchRuns(invs: FisherBlockInverse[]): FisherBlockInverse[][] {
  const runs: FisherBlockInverse[][] = [];
  for (const x of invs) {
    const last = runs[runs.length - 1];
    if (last && last[0].constructor === x.constructor && last[0].size === x.size && last[0].storage() === x.storage()) last.push(x);
    else runs.push([x]);
  }
  return runs;
}

/** Dual when N < b. Products as run (linalg/factors.ts; L⁻¹ by cholesky.ts's choleskyInverse, 2m³/3): primal
 *  3N b²/4 (the gram's three blocks) + 5b³/3; dual 2N² b + 2N³/3, plus (N b + N²)·k for the k ≤ N/0.99 columns with
 *  h_q ≈ 1, which at N ≥ b is every column. At N = b that is 2.4 b³ against 2.7–4.7 b³: primal; below b the dual's
 *  N² terms win, and it holds N·b floats against b². */
export function chooseForm(n: number, b: number): 'primal' | 'dual' {
  return n < b ? 'dual' : 'primal';
}

/** Bytes the inverse object holds once built (float64): primal/recursive b², dual H (N·b) + diag. */
export function inverseBytes(n: number, b: number, form: BuiltForm): number {
  return form === 'dual' ? 8 * (n * b + b) : 8 * b * b;
}

/** Peak bytes while building one block in a batch (scratch and its float64 copy of G, kept result included), for the
 *  memory plan and the batch size. Primal: A, L⁻¹ and the recursion's halves; dual: K, L⁻¹ (+ halves), H, the
 *  fix-up's H_Q, C, Z for up to 256 columns at a time. */
export function inversePeakBytes(n: number, b: number, form: BuiltForm): number {
  if (form === 'primal') return 8 * (3 * b * b + n * b);
  if (form === 'recursive') return 8 * (b * b + 2 * b);
  return 8 * (3 * n * n + 2 * n * b + (2 * n + b) * Math.min(b, 256) + 2 * b);
}

const BATCH_BYTES = 32 * 2 ** 20; // scratch of one batched build: small blocks go ~50 at a time, blocks of 1000 one by one

/** Blocks of one shape built by one batched call (fisherBlockInverses): as many as fit BATCH_BYTES, 1 to 256. */
export function blocksPerBatch(n: number, b: number, form: InverseForm): number {
  const f = form === 'auto' ? chooseForm(n, b) : form;
  if (f === 'recursive') return 1;
  return Math.max(1, Math.min(256, Math.floor(BATCH_BYTES / inversePeakBytes(n, b, f))));
}
