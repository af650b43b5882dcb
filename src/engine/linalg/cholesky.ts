// Cholesky factorization A = LLᵀ (row-major, lower) and the triangular solves built on it. All float64.
// Cost: cholesky m³/3, trsmLower m²n/2, invLower m³/6, spdInverse m³/3 + m³/6 + m³/2.
import { WoodFisherError } from '../types';
import { gramCols, gramRows, matmul, matmulTN, type Matrix } from './gemm';
import { recycle, scratch, zeros } from './scratch';

/** Panel width of the blocked factorizations: the O(m³) part goes through gemm.ts, the panels' own m·w²/2 stay in
 *  JS. Small matrices (many Fisher blocks in one batch) use narrow panels so that JS part stays a few % of the work. */
export function panelWidth(m: number): number {
  return m <= 256 ? 16 : m <= 512 ? 32 : 96;
}

/** Names matrix c of a batch in error messages. */
export type Naming = string | ((c: number) => string);
const nameOf = (what: Naming, c: number) => (typeof what === 'string' ? what : what(c));

/** Returns L (lower, zeros above) with A = LLᵀ; A holds `count` m×m symmetric positive definite matrices (one after
 *  another) and is not modified. Right-looking blocked: factor the diagonal block and the panel below it, then
 *  A₂₂ −= L₂₁L₂₁ᵀ (gramRows), each step one product for the whole batch. */
export function cholesky(A: Float64Array, m: number, what: Naming = 'matrix', count = 1): Float64Array {
  const L = Float64Array.from(A.subarray(0, count * m * m));
  const mm = m * m,
    nb = panelWidth(m);
  for (let k0 = 0; k0 < m; k0 += nb) {
    const k1 = Math.min(m, k0 + nb),
      w = k1 - k0,
      r = m - k1;
    const DinvT = new Float64Array(count * w * w); // (L₁₁⁻¹)ᵀ of each matrix
    for (let c = 0; c < count; c++) {
      const Lc = L.subarray(c * mm, (c + 1) * mm);
      const D = diagonalBlock(Lc, m, k0, w);
      factorSmall(D, w, k0, nameOf(what, c)); // L₁₁ = chol(A₁₁)
      for (let i = 0; i < w; i++) {
        const x = (k0 + i) * m + k0;
        for (let j = 0; j <= i; j++) Lc[x + j] = D[i * w + j];
      }
      if (r > 0) DinvT.set(transpose(invLower(D, w), w), c * w * w);
    }
    if (r === 0) break;
    const A21 = gatherRows(L, count, mm, m, k1, m, k0, k1); // A₂₁ of each matrix, contiguous
    const P = matmul(A21, DinvT, r, w, w, count); // L₂₁ = A₂₁ L₁₁⁻ᵀ
    const S = gramRows(P, r, w, count); // A₂₂ −= L₂₁L₂₁ᵀ
    for (let c = 0; c < count; c++) {
      const o = c * mm,
        op = c * r * w,
        os = c * r * r;
      for (let i = 0; i < r; i++) {
        const x = o + (k1 + i) * m + k0,
          y = op + i * w;
        for (let j = 0; j < w; j++) L[x + j] = P[y + j];
      }
      for (let i = 0; i < r; i++) {
        const oi = o + (k1 + i) * m + k1,
          si = os + i * r;
        for (let j = 0; j <= i; j++) L[oi + j] -= S[si + j];
      }
    }
  }
  for (let c = 0; c < count; c++) for (let i = 0; i < m; i++) L.fill(0, c * mm + i * m + i + 1, c * mm + (i + 1) * m);
  return L;
}

/** choleskyInverse: at or below this size, unblocked JS. */
export const CHOL_BASE = 16;

/** A batched product the recursion asks its driver for (`count` equally shaped products, operands one after another). */
export type ProductStep =
  | { op: 'matmul'; A: Matrix; B: Matrix; m: number; k: number; n: number; count: number } // AB, A m×k
  | { op: 'matmulTN'; A: Matrix; B: Matrix; k: number; m: number; n: number; count: number } // AᵀB, A k×m
  | { op: 'gramCols'; A: Matrix; k: number; m: number; count: number } // AᵀA, A k×m
  | { op: 'gramRows'; A: Matrix; m: number; k: number; count: number }; // AAᵀ, A m×k
/** An algorithm as its sequence of products: run through gemm.ts (runSteps), or awaited where products are
 *  asynchronous (the onnxruntime thread, ortThread.ts). A step's operands may be reused once it has returned. */
export type Steps<T> = Generator<ProductStep, T, Float64Array>;

/** Runs the steps with gemm.ts's products. */
export function runSteps<T>(steps: Steps<T>): T {
  for (let r = steps.next(); ;) {
    if (r.done) return r.value;
    const s = r.value;
    r = steps.next(
      s.op === 'matmul'
        ? matmul(s.A, s.B, s.m, s.k, s.n, s.count)
        : s.op === 'matmulTN'
          ? matmulTN(s.A, s.B, s.k, s.m, s.n, s.count)
          : s.op === 'gramCols'
            ? gramCols(s.A, s.k, s.m, s.count)
            : gramRows(s.A, s.m, s.k, s.count),
    );
  }
}

/**
 * L and L⁻¹ with A = LLᵀ for `count` m×m SPD matrices (one after another), recursively on halves:
 *   L₁₁ = chol(A₁₁), L₂₁ᵀ = L₁₁⁻¹A₁₂, L₂₂ = chol(A₂₂ − L₂₁L₂₁ᵀ), (L⁻¹)₂₁ = −L₂₂⁻¹L₂₁L₁₁⁻¹.
 * Every product is one call for the whole batch and only O(m² log m) values are copied per matrix, so many small
 * matrices cost a few large products. (The blocked `cholesky` above copies O(m³/w) per matrix in its solves.)
 * Cost 2m³/3 multiply-adds (products computed whole). L is assembled only when asked (the Fisher forms need L⁻¹).
 */
export function choleskyInverse(
  A: Float64Array,
  m: number,
  opts: { what?: Naming; count?: number; withL?: boolean } = {},
): { L?: Float64Array; Linv: Float64Array } {
  return runSteps(choleskyInverseSteps(A, m, opts));
}

/** choleskyInverse as its products (for a driver that runs them asynchronously). */
export function choleskyInverseSteps(
  A: Float64Array,
  m: number,
  opts: { what?: Naming; count?: number; withL?: boolean } = {},
): Steps<{ L?: Float64Array; Linv: Float64Array }> {
  return cholInv(A, m, opts.count ?? 1, opts.what ?? 'matrix', 0, opts.withL ?? false);
}

function* cholInv(
  A: Float64Array,
  m: number,
  count: number,
  what: Naming,
  offset: number,
  withL: boolean,
): Steps<{ L?: Float64Array; Linv: Float64Array }> {
  if (m <= CHOL_BASE) return baseCase(A, m, count, what, offset, withL);
  // Every intermediate comes from and goes back to the scratch pool (linalg/scratch.ts): the same sizes repeat.
  const mm = m * m,
    h = m >> 1;
  const A11 = gatherRows(A, count, mm, m, 0, h, 0, h);
  return yield* cholInvHalves(A11, m, count, what, offset, withL, () => ({
    A12: gatherRows(A, count, mm, m, 0, h, h, m),
    A22: gatherRows(A, count, mm, m, h, m, h, m),
  }));
}

/** choleskyInverse of [A₁₁, A₁₂; A₁₂ᵀ, A₂₂] given as its blocks (h = ⌊m/2⌋ rows first); A₁₂ and A₂₂ are asked for
 *  once A₁₁ is factored (fewer arrays alive at once) and are consumed (A₂₂ becomes the Schur complement). */
export function choleskyInverseOfHalves(
  A11: Float64Array,
  m: number,
  rest: () => { A12: Float64Array; A22: Float64Array },
  opts: { what?: Naming; count?: number } = {},
): Steps<{ L?: Float64Array; Linv: Float64Array }> {
  return cholInvHalves(A11, m, opts.count ?? 1, opts.what ?? 'matrix', 0, false, rest);
}

function* cholInvHalves(
  A11: Float64Array,
  m: number,
  count: number,
  what: Naming,
  offset: number,
  withL: boolean,
  rest: () => { A12: Float64Array; A22: Float64Array },
): Steps<{ L?: Float64Array; Linv: Float64Array }> {
  const h = m >> 1,
    r = m - h;
  const one = yield* cholInv(A11, h, count, what, offset, withL); // L₁₁, L₁₁⁻¹
  const { A12, A22: S } = rest();
  const Ut = yield { op: 'matmul', A: one.Linv, B: A12, m: h, k: h, n: r, count }; // U = L₂₁ᵀ = L₁₁⁻¹A₁₂ (h×r)
  const UU = yield { op: 'gramCols', A: Ut, k: h, m: r, count }; // L₂₁L₂₁ᵀ = UᵀU
  subtractInPlace(S, UU); // S = A₂₂ − L₂₁L₂₁ᵀ
  recycle(A11, A12, UU);
  const two = yield* cholInv(S, r, count, what, offset + h, withL); // L₂₂, L₂₂⁻¹
  recycle(S);
  const T = yield { op: 'matmulTN', A: Ut, B: one.Linv, k: h, m: r, n: h, count };
  const X21 = yield { op: 'matmul', A: two.Linv, B: T, m: r, k: r, n: h, count }; // L₂₂⁻¹ (L₂₁ L₁₁⁻¹)
  recycle(T);
  const out = assemble(one, two, X21, Ut, m, h, count, withL);
  recycle(one.Linv, two.Linv, one.L, two.L, X21, Ut);
  return out;
}

/** Unblocked L and L⁻¹ of each small matrix. */
function baseCase(A: Float64Array, m: number, count: number, what: Naming, offset: number, withL: boolean) {
  const mm = m * m,
    L = scratch(count * mm),
    Linv = zeros(count * mm);
  L.set(A.subarray(0, count * mm));
  for (let c = 0; c < count; c++) {
    const D = L.subarray(c * mm, (c + 1) * mm);
    factorSmall(D, m, offset, nameOf(what, c));
    invLowerInto(D, m, Linv.subarray(c * mm, (c + 1) * mm));
  }
  if (withL) return { L, Linv };
  recycle(L);
  return { Linv };
}

function subtractInPlace(S: Float64Array, X: Float64Array): void {
  for (let i = 0; i < S.length; i++) S[i] -= X[i];
}

type Halves = { L?: Float64Array; Linv: Float64Array };

/** L⁻¹ = [L₁₁⁻¹, 0; −X₂₁, L₂₂⁻¹] (and L = [L₁₁, 0; Uᵀ, L₂₂] when asked) of each matrix of the batch. */
function assemble(one: Halves, two: Halves, X21: Float64Array, Ut: Float64Array, m: number, h: number, count: number, withL: boolean) {
  const mm = m * m,
    r = m - h;
  const Linv = scratch(count * mm), // every value written below, zeros above the diagonal included
    L = withL ? zeros(count * mm) : undefined;
  for (let c = 0; c < count; c++) {
    const o = c * mm,
      o1 = c * h * h,
      o2 = c * r * r,
      ox = c * r * h;
    for (let i = 0; i < h; i++) {
      const x = o + i * m,
        y = o1 + i * h;
      for (let j = 0; j <= i; j++) Linv[x + j] = one.Linv[y + j];
      Linv.fill(0, x + i + 1, x + m);
    }
    for (let i = 0; i < r; i++) {
      const x = o + (h + i) * m,
        y = ox + i * h,
        z = o2 + i * r;
      for (let j = 0; j < h; j++) Linv[x + j] = -X21[y + j];
      for (let j = 0; j <= i; j++) Linv[x + h + j] = two.Linv[z + j];
      Linv.fill(0, x + h + i + 1, x + m);
    }
    if (!L) continue;
    const ou = c * h * r;
    for (let i = 0; i < h; i++) {
      const x = o + i * m,
        y = o1 + i * h;
      for (let j = 0; j <= i; j++) L[x + j] = one.L![y + j];
    }
    for (let i = 0; i < r; i++) {
      const x = o + (h + i) * m,
        z = o2 + i * r;
      for (let j = 0; j < h; j++) L[x + j] = Ut[ou + j * r + i];
      for (let j = 0; j <= i; j++) L[x + h + j] = two.L![z + j];
    }
  }
  return { L, Linv };
}

/** Unblocked Cholesky of a small w×w block in place (lower part used). */
function factorSmall(D: Float64Array, w: number, offset: number, what: string): void {
  for (let j = 0; j < w; j++) {
    const oj = j * w;
    let s = D[oj + j];
    for (let t = 0; t < j; t++) s -= D[oj + t] * D[oj + t];
    if (!(s > 0))
      throw new WoodFisherError(
        `${what} is not positive definite (pivot ${offset + j} = ${s.toExponential(2)}); increase the damping λ`,
        'NUMERIC',
      );
    const ljj = Math.sqrt(s);
    D[oj + j] = ljj;
    for (let i = j + 1; i < w; i++) {
      const oi = i * w;
      let v = D[oi + j];
      for (let t = 0; t < j; t++) v -= D[oi + t] * D[oj + t];
      D[oi + j] = v / ljj;
    }
  }
  for (let i = 0; i < w; i++) D.fill(0, i * w + i + 1, (i + 1) * w);
}

/** The w×w diagonal block of an m×m row-major matrix starting at (k0, k0), copied. */
function diagonalBlock(L: Float64Array, m: number, k0: number, w: number): Float64Array {
  const D = new Float64Array(w * w);
  for (let i = 0, o = 0; i < w; i++) {
    const x = (k0 + i) * m + k0;
    for (let j = 0; j < w; j++) D[o++] = L[x + j];
  }
  return D;
}

function transpose(A: Float64Array, w: number): Float64Array {
  const T = new Float64Array(w * w);
  for (let i = 0; i < w; i++) for (let j = 0; j < w; j++) T[j * w + i] = A[i * w + j];
  return T;
}

/** Rows [r0, r1), columns [c0, c1) of each `cols`-wide matrix of a batch (stride `stride` values), as one contiguous batch. */
function gatherRows(X: Float64Array, count: number, stride: number, cols: number, r0: number, r1: number, c0 = 0, c1 = cols): Float64Array {
  const h = r1 - r0,
    w = c1 - c0,
    out = scratch(count * h * w); // every value is written below
  if (w === cols) {
    // whole rows: one contiguous range per matrix
    for (let c = 0; c < count; c++) out.set(X.subarray(c * stride + r0 * cols, c * stride + r1 * cols), c * h * w);
    return out;
  }
  let o = 0; // a row at a time (a view and a copy: 30% faster than a plain loop from 16 values a row, measured alone)
  for (let c = 0; c < count; c++) {
    for (let i = r0; i < r1; i++, o += w) {
      const x = c * stride + i * cols + c0;
      out.set(X.subarray(x, x + w), o);
    }
  }
  return out;
}

/** The inverse diagonal blocks L_II⁻¹ (w×w) of each matrix of a batch. */
function inverseDiagonalBlocks(L: Float64Array, m: number, count: number, i0: number, w: number): Float64Array {
  const out = new Float64Array(count * w * w);
  for (let c = 0; c < count; c++) out.set(invLower(diagonalBlock(L.subarray(c * m * m, (c + 1) * m * m), m, i0, w), w), c * w * w);
  return out;
}

/** x = L⁻¹ b (forward substitution). */
export function solveLower(L: Float64Array, b: Float64Array, m: number): Float64Array {
  const x = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const oi = i * m;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[oi + k] * x[k];
    x[i] = s / L[oi + i];
  }
  return x;
}

/** x = L⁻ᵀ b (back substitution with the transpose). */
export function solveLowerT(L: Float64Array, b: Float64Array, m: number): Float64Array {
  const x = Float64Array.from(b);
  for (let i = m - 1; i >= 0; i--) {
    const xi = (x[i] /= L[i * m + i]);
    const oi = i * m;
    for (let k = 0; k < i; k++) x[k] -= L[oi + k] * xi; // column i of Lᵀ is row i of L
  }
  return x;
}

/** x = A⁻¹ b given A = LLᵀ. */
export function cholSolve(L: Float64Array, b: Float64Array, m: number): Float64Array {
  return solveLowerT(L, solveLower(L, b, m), m);
}

/** X = L⁻¹ B, B is m×n row-major (may be float32); `count` pairs (L, B) one after another. Blocked:
 *  X_I = L_II⁻¹ (B_I − L_{I,<I} X_{<I}), both products by gemm, one call per panel for the whole batch. */
export function trsmLower(L: Float64Array, B: Float64Array | Float32Array, m: number, n: number, count = 1): Float64Array {
  const X = Float64Array.from(B.subarray(0, count * m * n));
  const mm = m * m,
    mn = m * n,
    nb = panelWidth(m);
  for (let i0 = 0; i0 < m; i0 += nb) {
    const i1 = Math.min(m, i0 + nb),
      w = i1 - i0;
    if (i0 > 0) {
      const T = matmul(gatherRows(L, count, mm, m, i0, i1, 0, i0), gatherRows(X, count, mn, n, 0, i0), w, i0, n, count); // L_{I,<I} X_{<I}
      for (let c = 0; c < count; c++) {
        const o = c * mn + i0 * n,
          ot = c * w * n;
        for (let t = 0; t < w * n; t++) X[o + t] -= T[ot + t];
      }
    }
    const XI = matmul(inverseDiagonalBlocks(L, m, count, i0, w), gatherRows(X, count, mn, n, i0, i1), w, w, n, count);
    for (let c = 0; c < count; c++) X.set(XI.subarray(c * w * n, (c + 1) * w * n), c * mn + i0 * n);
  }
  return X;
}

/** X = L⁻ᵀ B, B is m×n row-major; `count` pairs. Blocked backward: X_I = L_II⁻ᵀ (B_I − L_{>I,I}ᵀ X_{>I}), by gemm. */
export function trsmLowerT(L: Float64Array, B: Float64Array | Float32Array, m: number, n: number, count = 1): Float64Array {
  const X = Float64Array.from(B.subarray(0, count * m * n));
  const mm = m * m,
    mn = m * n,
    nb = panelWidth(m);
  const top = Math.floor((m - 1) / nb) * nb;
  for (let i0 = top; i0 >= 0; i0 -= nb) {
    const i1 = Math.min(m, i0 + nb),
      w = i1 - i0,
      r = m - i1;
    if (r > 0) {
      const T = matmulTN(gatherRows(L, count, mm, m, i1, m, i0, i1), gatherRows(X, count, mn, n, i1, m), r, w, n, count); // L_{>I,I}ᵀ X_{>I}
      for (let c = 0; c < count; c++) {
        const o = c * mn + i0 * n,
          ot = c * w * n;
        for (let t = 0; t < w * n; t++) X[o + t] -= T[ot + t];
      }
    }
    const XI = matmulTN(inverseDiagonalBlocks(L, m, count, i0, w), gatherRows(X, count, mn, n, i0, i1), w, w, n, count); // L_II⁻ᵀ T
    for (let c = 0; c < count; c++) X.set(XI.subarray(c * w * n, (c + 1) * w * n), c * mn + i0 * n);
  }
  return X;
}

/** L⁻¹ (lower): row i = −(1/L_ii) Σ_{k<i} L_ik (L⁻¹)_k, plus 1/L_ii on the diagonal (m³/6, triangular structure kept). */
export function invLower(L: Float64Array, m: number): Float64Array {
  return invLowerInto(L, m, new Float64Array(m * m));
}

/** invLower into X (m×m, zeros expected). */
function invLowerInto(L: Float64Array, m: number, X: Float64Array): Float64Array {
  for (let i = 0; i < m; i++) {
    const oi = i * m;
    for (let k = 0; k < i; k++) {
      const l = L[oi + k];
      if (l === 0) continue;
      const ok = k * m;
      for (let j = 0; j <= k; j++) X[oi + j] -= l * X[ok + j];
    }
    const d = 1 / L[oi + i];
    for (let j = 0; j < i; j++) X[oi + j] *= d;
    X[oi + i] = d;
  }
  return X;
}

/** A⁻¹ = L⁻ᵀ L⁻¹ for SPD A (m×m), via its Cholesky factor. */
export function spdInverse(A: Float64Array, m: number, what = 'matrix'): Float64Array {
  return gramCols(invLower(cholesky(A, m, what), m), m, m);
}
