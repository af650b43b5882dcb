// The acceptance criterion: at λ down to 1e-8, with N ≪ b and N ≫ b, each form's kept set and OBS update
// agree with a float64 Gauss-Jordan reference (kept-set overlap ≥ 0.99, update relative error ≤ 1e-2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fisherBlockInverse } from '../../../src/engine/fisher/inverse';
import { obsSaliency } from '../../../src/engine/obs/saliency';
import { selectMasks } from '../../../src/engine/obs/select';
import { obsUpdate } from '../../../src/engine/obs/update';
import { denseFisher, freshSeed, gaussJordanInverse, gradients, matvecRef, randn, relErr, rng } from '../linalg/reference';

function kept(mask: Uint8Array): Set<number> {
  const s = new Set<number>();
  mask.forEach((m, q) => {
    if (!m) s.add(q);
  });
  return s;
}

/** Dense references: independent δw = F⁻¹v and joint δw = −F⁻¹E_Q (F⁻¹_QQ)⁻¹ w_Q, then zeros on Q. */
function referenceUpdates(Finv: Float64Array, w: Float64Array, mask: Uint8Array) {
  const b = w.length,
    Q = [...mask.keys()].filter(q => mask[q]);
  const v = new Float64Array(b);
  for (const q of Q) v[q] = -w[q] / Finv[q * b + q];
  const ind = matvecRef(Finv, v, b, b).map((x, q) => (mask[q] ? 0 : w[q] + x));
  const k = Q.length,
    S = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) S[i * k + j] = Finv[Q[i] * b + Q[j]];
  const y = matvecRef(
    gaussJordanInverse(S, k),
    Q.map(q => w[q]),
    k,
    k,
  );
  const u = new Float64Array(b);
  Q.forEach((q, i) => {
    u[q] = y[i];
  });
  const joint = matvecRef(Finv, u, b, b).map((x, q) => (mask[q] ? 0 : w[q] - x));
  return { ind, joint };
}

for (const [n, b] of [
  [16, 240],
  [400, 40],
]) {
  test(`λ = 1e-8, N = ${n}, b = ${b}: primal, dual and recursive keep the reference set and update`, () => {
    const seed = freshSeed(),
      r = rng(seed);
    const damp = 1e-8;
    // Nearly low-rank gradients (5 directions + 0.1% noise), column scales 1e-3..1e-1, stored as float32 like real ones.
    const G = Float32Array.from(gradients(r, n, b, 5, 1e-3)),
      w = randn(r, b, 0.1);
    const Finv = gaussJordanInverse(denseFisher(G, n, b, damp), b);
    const refDiag = Float64Array.from({ length: b }, (_, q) => Finv[q * b + q]);
    for (const s of [0.5, 0.9]) {
      const refMask = selectMasks([{ name: 'ref', saliency: obsSaliency(w, refDiag), weights: w }], s, 'layer').masks[0];
      const refKept = kept(refMask),
        ref = referenceUpdates(Finv, w, refMask);
      for (const form of ['primal', 'dual', 'recursive'] as const) {
        const why = `${form} s=${s} seed ${seed}`;
        const inv = fisherBlockInverse(G, n, b, damp, form);
        const mask = selectMasks([{ name: form, saliency: obsSaliency(w, inv.diag()), weights: w }], s, 'layer').masks[0];
        let both = 0;
        for (const q of kept(mask)) if (refKept.has(q)) both++;
        assert.ok(both / refKept.size >= 0.99, `kept-set overlap ${both}/${refKept.size} ${why}`);
        // The reference mask for both, so that the update itself is compared.
        const eInd = relErr(obsUpdate(w, refMask, inv, 'independent'), ref.ind);
        const eJoint = relErr(obsUpdate(w, refMask, inv, 'joint'), ref.joint);
        assert.ok(eInd <= 1e-2, `independent update rel. err ${eInd} ${why}`);
        assert.ok(eJoint <= 1e-2, `joint update rel. err ${eJoint} ${why}`);
      }
    }
  });
}
