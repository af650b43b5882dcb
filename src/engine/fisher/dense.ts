// Explicit b×b inverse: the primal form (Cholesky of λI + GᵀG/N) and the paper's rank-1 Woodbury recursion.
// Cost: primal O(N b² + b³) (gram N b²/2, Cholesky b³/3, inverse 5b³/6); recursive O(N b²) (2 N b²),
// but the recursion loses digits when λ is tiny (entries 1/λ minus nearly equal terms): it is the reference, not the default.
import { cholesky, trsmLower } from '../linalg/cholesky';
import { gramCols, matvec, type Matrix } from '../linalg/gemm';
import type { BuiltForm, FisherBlockInverse } from './blockInverse';

export class DenseInverse implements FisherBlockInverse {
  constructor(readonly form: Exclude<BuiltForm, 'dual'>, readonly size: number, private readonly M: Float64Array) {}

  diag(): Float64Array {
    const b = this.size, d = new Float64Array(b);
    for (let q = 0; q < b; q++) d[q] = this.M[q * b + q];
    return d;
  }

  mul(v: Float64Array): Float64Array {
    return matvec(this.M, v, this.size, this.size);
  }

  sub(q: Int32Array): Float64Array {
    const b = this.size, k = q.length, S = new Float64Array(k * k);
    for (let i = 0; i < k; i++) { const o = q[i] * b; for (let j = 0; j < k; j++) S[i * k + j] = this.M[o + q[j]]; }
    return S;
  }

  cols(q: Int32Array): Float64Array {
    const b = this.size, k = q.length, C = new Float64Array(b * k);
    for (let r = 0; r < b; r++) { const o = r * b; for (let j = 0; j < k; j++) C[r * k + j] = this.M[o + q[j]]; }
    return C;
  }

  /** The explicit inverse (b×b row-major), for tests and the benchmark. */
  matrix(): Float64Array { return this.M; }
}

/** F⁻¹ = (λI + GᵀG/N)⁻¹ = L⁻ᵀL⁻¹ with A = LLᵀ, all in float64. */
export function primalInverse(G: Matrix, n: number, b: number, damp: number): DenseInverse {
  const A = gramCols(G, n, b);
  const s = n > 0 ? 1 / n : 0;
  for (let i = 0; i < b * b; i++) A[i] *= s;
  for (let i = 0; i < b; i++) A[i * b + i] += damp; // A = λI + GᵀG/N
  const Linv = trsmLower(cholesky(A, b, 'Fisher block (primal)'), identity(b), b, b); // L⁻¹, blocked through gemm
  return new DenseInverse('primal', b, gramCols(Linv, b, b)); // F⁻¹ = (L⁻¹)ᵀ L⁻¹
}

function identity(b: number): Float64Array {
  const I = new Float64Array(b * b);
  for (let i = 0; i < b; i++) I[i * b + i] = 1;
  return I;
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
      const ui = u[i] * c, o = i * b;
      if (ui === 0) continue;
      for (let j = 0; j < b; j++) M[o + j] -= ui * u[j];
    }
  }
  return new DenseInverse('recursive', b, M);
}
