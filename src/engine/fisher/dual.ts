// Dual (Woodbury, M-FAC style) form: F⁻¹ = (1/λ)(I − Gᵀ K⁻¹ G), K = NλI + GGᵀ = LLᵀ, kept as H = L⁻¹G (N×b).
// Cost: O(N² b + N³) to build (gram N²b/2, Cholesky N³/3, H N²b/2, diag fix-up (N b + N²) per column with h_q ≈ 1,
// at most N/0.99 columns), O(N b) per F⁻¹v; memory N·b.
//
// Stable diagonal. With h_q = ‖H_q‖² = g_qᵀK⁻¹g_q, [F⁻¹]_qq = (1 − h_q)/λ cancels when h_q → 1 (a column well inside
// the gradients' span, λ tiny). Let P = I − GᵀK⁻¹G = λF⁻¹. Since GGᵀ = K − NλI, P² = P − Nλ GᵀK⁻²G, so
//   P_qq (1 − P_qq) = Σ_{j≠q} P_jq² + Nλ ‖K⁻¹g_q‖²  =: S_q   (every term ≥ 0, P_jq = −H_jᵀH_q),
// hence 1 − h_q = S_q / h_q, free of cancellation. Used for columns with h_q > H_STABLE (at most N/H_STABLE of them).
import { factor } from '../linalg/factors';
import { gramCols, matmul, matmulTN, matvec, matvecT, type Matrix } from '../linalg/gemm';
import type { FisherBlockInverse } from './blockInverse';
import { adjacent, recycle } from '../linalg/scratch';

const H_STABLE = 0.99; // above this h_q, 1 − h_q would lose ≥ 2 digits: use S_q / h_q (below, error ≤ ~100·N·ε)
const FIX_CHUNK = 256; // columns per fix-up product (bounds the b×chunk scratch)

export class DualInverse implements FisherBlockInverse {
  readonly form = 'dual' as const;
  constructor(
    readonly size: number,
    readonly n: number,
    private readonly damp: number,
    private readonly H: Float64Array,
    private readonly d: Float64Array,
  ) {}

  diag(): Float64Array {
    return this.d;
  }

  /** F⁻¹v = (v − Hᵀ(Hv))/λ. */
  mul(v: Float64Array): Float64Array {
    const { n, size: b, damp } = this;
    const t = matvecT(this.H, matvec(this.H, v, n, b), n, b);
    const x = new Float64Array(b);
    for (let j = 0; j < b; j++) x[j] = (v[j] - t[j]) / damp;
    return x;
  }

  /** [F⁻¹]_QQ = (I − H_QᵀH_Q)/λ, diagonal from the stable diag. */
  sub(q: Int32Array): Float64Array {
    const k = q.length,
      S = gramCols(gatherCols(this.H, this.n, this.size, q), this.n, k);
    for (let i = 0; i < k * k; i++) S[i] = -S[i] / this.damp;
    for (let i = 0; i < k; i++) S[i * k + i] = this.d[q[i]];
    return S;
  }

  /** F⁻¹E_Q = (E_Q − Hᵀ H_Q)/λ, b×|Q|, entries (q_i, i) from the stable diag. */
  cols(q: Int32Array): Float64Array {
    const k = q.length,
      C = matmulTN(this.H, gatherCols(this.H, this.n, this.size, q), this.n, this.size, k);
    for (let i = 0; i < C.length; i++) C[i] = -C[i] / this.damp;
    for (let i = 0; i < k; i++) C[q[i] * k + i] = this.d[q[i]];
    return C;
  }

  storage(): ArrayBufferLike {
    return this.H.buffer;
  }

  /** F⁻¹v of each block (V: their vectors one after another) in two batched products, when their H lie one after
   *  another in one buffer with one N, b and λ (the blocks of one batched build); else undefined. */
  static mulEach(invs: DualInverse[], V: Float64Array): Float64Array | undefined {
    const [{ n, size: b, damp }] = invs;
    if (invs.some(x => x.n !== n || x.size !== b || x.damp !== damp)) return undefined;
    const H = adjacent(invs.map(x => x.H));
    if (!H) return undefined;
    const count = invs.length;
    const t = matmul(H, V, n, b, 1, count); // Hv
    const u = matmulTN(H, t, n, b, 1, count); // Hᵀ(Hv)
    const x = new Float64Array(count * b);
    for (let i = 0; i < x.length; i++) x[i] = (V[i] - u[i]) / damp;
    recycle(t, u);
    return x;
  }
}

/** The dual form of `count` n×b blocks (G holds them one after another); each step is one product for all of them. */
export function dualInverses(G: Matrix, n: number, b: number, damp: number, count = 1, owned = false): DualInverse[] {
  const nb = n * b;
  // K = NλI + GGᵀ = LLᵀ, H = L⁻¹G, h_q = ‖H_q‖²
  const [Linv, H, h] = factor({ name: 'rowGramFactor', G, k: n, m: b, damp, count, what: 'Fisher block (dual)', owned });
  const d = new Float64Array(count * b);
  const high: number[][] = [];
  for (let c = 0; c < count; c++) {
    const hc: number[] = [];
    for (let q = 0; q < b; q++) {
      if (h[c * b + q] > H_STABLE) hc.push(q);
      else d[c * b + q] = (1 - h[c * b + q]) / damp; // [F⁻¹]_qq = (1 − h_q)/λ
    }
    high.push(hc);
  }
  const most = Math.max(0, ...high.map(q => q.length));
  for (let c0 = 0; c0 < most; c0 += FIX_CHUNK) {
    const k = Math.min(FIX_CHUNK, most - c0);
    const HQ = new Float64Array(count * n * k); // columns Q of each block's H (zero where it has fewer)
    for (let c = 0; c < count; c++) {
      const Q = high[c].slice(c0, c0 + k);
      for (let r = 0; r < n; r++) {
        const o = c * nb + r * b,
          ox = (c * n + r) * k;
        for (let i = 0; i < Q.length; i++) HQ[ox + i] = H[o + Q[i]];
      }
    }
    const C = matmulTN(H, HQ, n, b, k, count); // C_ji = H_jᵀH_{q_i} = −P_{j q_i}
    const Z = matmulTN(Linv, HQ, n, n, k, count); // Z_{:,i} = K⁻¹g_{q_i} = L⁻ᵀH_{q_i}
    for (let c = 0; c < count; c++) {
      const Q = high[c].slice(c0, c0 + k),
        oc = c * b * k,
        oz = c * n * k;
      const s = new Float64Array(k),
        zz = new Float64Array(k);
      for (let i = 0; i < Q.length; i++) C[oc + Q[i] * k + i] = 0; // j ≠ q: leave h_q out of the sum (no cancellation)
      for (let j = 0; j < b; j++) {
        const o = oc + j * k;
        for (let i = 0; i < Q.length; i++) s[i] += C[o + i] * C[o + i];
      }
      for (let r = 0; r < n; r++) {
        const o = oz + r * k;
        for (let i = 0; i < Q.length; i++) zz[i] += Z[o + i] * Z[o + i];
      }
      for (let i = 0; i < Q.length; i++) {
        const q = Q[i];
        const S = s[i] + n * damp * zz[i]; // S_q = Σ_{j≠q} P_jq² + Nλ‖K⁻¹g_q‖²
        d[c * b + q] = S / h[c * b + q] / damp; // [F⁻¹]_qq = (S_q / h_q)/λ
      }
    }
    recycle(HQ, C, Z);
  }
  recycle(Linv, h);
  return Array.from(
    { length: count },
    (_, c) => new DualInverse(b, n, damp, H.subarray(c * nb, (c + 1) * nb), d.subarray(c * b, (c + 1) * b)),
  );
}

export function dualInverse(G: Matrix, n: number, b: number, damp: number): DualInverse {
  return dualInverses(G, n, b, damp, 1)[0];
}

/** Columns Q of an n×b row-major matrix → n×|Q|. */
export function gatherCols(A: Float64Array, n: number, b: number, q: Int32Array): Float64Array {
  const k = q.length,
    X = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    const o = r * b,
      ox = r * k;
    for (let j = 0; j < k; j++) X[ox + j] = A[o + q[j]];
  }
  return X;
}
