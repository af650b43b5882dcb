// The b×b forms: primal (Cholesky of λI + GᵀG/N, kept as R = L⁻¹) and the paper's rank-1 Woodbury recursion.
// Cost: primal O(N b² + b³) (gram N b², L and L⁻¹ 2b³/3 as run); recursive O(N b²) (2 N b²),
// but the recursion loses digits when λ is tiny (entries 1/λ minus nearly equal terms): it is the reference, not the default.
import { columnSquares, factor } from '../linalg/factors';
import { gramCols, matmul, matmulTN, matvec, matvecT, type Matrix } from '../linalg/gemm';
import { adjacent, recycle } from '../linalg/scratch';
import { gatherCols } from './dual';
import type { FisherBlockInverse } from './blockInverse';

/** An explicit b×b inverse M (the recursion's result). */
export class DenseInverse implements FisherBlockInverse {
  constructor(
    readonly form: 'recursive',
    readonly size: number,
    private readonly M: Float64Array,
  ) {}

  diag(): Float64Array {
    const b = this.size,
      d = new Float64Array(b);
    for (let q = 0; q < b; q++) d[q] = this.M[q * b + q];
    return d;
  }

  mul(v: Float64Array): Float64Array {
    return matvec(this.M, v, this.size, this.size);
  }

  sub(q: Int32Array): Float64Array {
    const b = this.size,
      k = q.length,
      S = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      const o = q[i] * b;
      for (let j = 0; j < k; j++) S[i * k + j] = this.M[o + q[j]];
    }
    return S;
  }

  cols(q: Int32Array): Float64Array {
    const b = this.size,
      k = q.length,
      C = new Float64Array(b * k);
    for (let r = 0; r < b; r++) {
      const o = r * b;
      for (let j = 0; j < k; j++) C[r * k + j] = this.M[o + q[j]];
    }
    return C;
  }

  /** The explicit inverse (b×b row-major), for tests and the benchmark. */
  matrix(): Float64Array {
    return this.M;
  }

  storage(): ArrayBufferLike {
    return this.M.buffer;
  }
}

/** Primal form kept as R = L⁻¹ (lower b×b) with LLᵀ = N·F = GᵀG + NλI, so F⁻¹ = N·RᵀR, never formed (it would cost
 *  another b³): [F⁻¹]_qq = N‖R_q‖² (a sum of squares, no cancellation), F⁻¹v = N·Rᵀ(Rv), [F⁻¹]_QQ = N·R_QᵀR_Q,
 *  F⁻¹E_Q = N·RᵀR_Q. */
export class PrimalInverse implements FisherBlockInverse {
  readonly form = 'primal' as const;
  private readonly d: Float64Array;
  /** d = diag(F⁻¹) when the caller computed it (primalInverses, for a whole batch in one pass); n = N. */
  constructor(
    readonly size: number,
    private readonly R: Float64Array,
    private readonly n: number,
    d?: Float64Array,
  ) {
    this.d = d ?? scaled(columnSquares(R, size, size, 1), n);
  }

  diag(): Float64Array {
    return this.d;
  }

  mul(v: Float64Array): Float64Array {
    return scaled(matvecT(this.R, matvec(this.R, v, this.size, this.size), this.size, this.size), this.n);
  }

  sub(q: Int32Array): Float64Array {
    const S = scaled(gramCols(gatherCols(this.R, this.size, this.size, q), this.size, q.length), this.n);
    for (let i = 0; i < q.length; i++) S[i * q.length + i] = this.d[q[i]];
    return S;
  }

  cols(q: Int32Array): Float64Array {
    const C = scaled(matmulTN(this.R, gatherCols(this.R, this.size, this.size, q), this.size, this.size, q.length), this.n);
    for (let i = 0; i < q.length; i++) C[q[i] * q.length + i] = this.d[q[i]];
    return C;
  }

  /** The explicit inverse N·RᵀR (b×b row-major), for tests and the benchmark. */
  matrix(): Float64Array {
    return scaled(gramCols(this.R, this.size, this.size), this.n);
  }

  storage(): ArrayBufferLike {
    return this.R.buffer;
  }

  /** F⁻¹v = N·Rᵀ(Rv) of each block (V: their vectors one after another) in two batched products, when their R lie one
   *  after another in one buffer with one b and N (the blocks of one batched build); else undefined. */
  static mulEach(invs: PrimalInverse[], V: Float64Array): Float64Array | undefined {
    const [{ n, size: b }] = invs;
    if (invs.some(x => x.n !== n || x.size !== b)) return undefined;
    const R = adjacent(invs.map(x => x.R));
    if (!R) return undefined;
    const t = matmul(R, V, b, b, 1, invs.length); // Rv
    const x = scaled(matmulTN(R, t, b, b, 1, invs.length), n); // N·Rᵀ(Rv)
    recycle(t);
    return x;
  }
}

/** x ← s·x. */
function scaled(x: Float64Array, s: number): Float64Array {
  if (s !== 1) for (let i = 0; i < x.length; i++) x[i] *= s;
  return x;
}

/** F⁻¹ = (λI + GᵀG/N)⁻¹ = L⁻ᵀL⁻¹ with A = LLᵀ, all in float64; G holds `count` n×b blocks (linalg/factors.ts:
 *  one request a batch on the onnxruntime thread, else each product one call). */
export function primalInverses(G: Matrix, n: number, b: number, damp: number, count = 1, owned = false): PrimalInverse[] {
  const bb = b * b,
    N = Math.max(n, 1); // F⁻¹ = N·RᵀR (N = 0: F = λI, R = I/√λ)
  const [R, r] = factor({ name: 'gramFactor', G, k: n, m: b, damp, count, what: 'Fisher block (primal)', owned });
  const d = scaled(r, N); // [F⁻¹]_qq = N‖R_q‖²
  return Array.from({ length: count }, (_, c) => new PrimalInverse(b, R.subarray(c * bb, (c + 1) * bb), N, d.subarray(c * b, (c + 1) * b)));
}

export function primalInverse(G: Matrix, n: number, b: number, damp: number): PrimalInverse {
  return primalInverses(G, n, b, damp, 1)[0];
}

/** Paper's recursion: F₀⁻¹ = I/λ, F_n⁻¹ = F_{n−1}⁻¹ − u uᵀ/(N + g_nᵀu), u = F_{n−1}⁻¹ g_n. */
export function recursiveInverse(G: Matrix, n: number, b: number, damp: number): DenseInverse {
  const M = new Float64Array(b * b);
  for (let i = 0; i < b; i++) M[i * b + i] = 1 / damp;
  const g = new Float64Array(b);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < b; j++) g[j] = G[k * b + j];
    const u = matvec(M, g, b, b);
    let gu = 0;
    for (let j = 0; j < b; j++) gu += g[j] * u[j];
    const c = 1 / (n + gu);
    for (let i = 0; i < b; i++) {
      const ui = u[i] * c,
        o = i * b;
      if (ui === 0) continue;
      for (let j = 0; j < b; j++) M[o + j] -= ui * u[j];
    }
  }
  return new DenseInverse('recursive', b, M);
}
