// Per-weight saliencies: the estimated loss increase of setting w_q to zero (lower = prune first).

/** OBS: ρ_q = w_q² / (2 [F⁻¹]_qq), into `r` when given. */
export function obsSaliency(w: Float64Array, diagInv: Float64Array, r = new Float64Array(w.length)): Float64Array {
  for (let q = 0; q < w.length; q++) r[q] = (w[q] * w[q]) / (2 * diagInv[q]);
  return r;
}

/** WoodTaylor, u = F⁻¹∇L: ρ_q = ½w_q²/d_q + ½u_q²/d_q − w_q u_q/d_q − ½∇LᵀF⁻¹∇L = ½(w_q − u_q)²/d_q − ½∇LᵀF⁻¹∇L. */
export function woodTaylorSaliency(
  w: Float64Array,
  diagInv: Float64Array,
  invGrad: Float64Array,
  gInvG: number,
  r = new Float64Array(w.length),
): Float64Array {
  for (let q = 0; q < w.length; q++) {
    const e = w[q] - invGrad[q];
    r[q] = (e * e) / (2 * diagInv[q]) - 0.5 * gInvG;
  }
  return r;
}

/** Diagonal Fisher (OBD with the empirical Fisher): ρ_q = ½ F_qq w_q². */
export function diagFisherSaliency(w: Float64Array, fisherDiag: Float64Array): Float64Array {
  const r = new Float64Array(w.length);
  for (let q = 0; q < w.length; q++) r[q] = 0.5 * fisherDiag[q] * w[q] * w[q];
  return r;
}

/** Magnitude: ρ_q = |w_q|. */
export function magnitudeSaliency(w: Float64Array): Float64Array {
  const r = new Float64Array(w.length);
  for (let q = 0; q < w.length; q++) r[q] = Math.abs(w[q]);
  return r;
}
