import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagFisherSaliency, magnitudeSaliency, obsSaliency, woodTaylorSaliency } from '../../../src/engine/obs/saliency';
import { fisherBlockInverse } from '../../../src/engine/fisher/inverse';
import { denseFisher, freshSeed, gradients, maxRelErr, randn, rng } from '../linalg/reference';

test('saliency formulas on hand values', () => {
  const w = Float64Array.from([2, -1, 0]),
    d = Float64Array.from([4, 0.5, 1]);
  assert.deepEqual(Array.from(obsSaliency(w, d)), [0.5, 1, 0]); // w²/(2d)
  assert.deepEqual(Array.from(diagFisherSaliency(w, d)), [8, 0.25, 0]); // ½ F w²
  assert.deepEqual(Array.from(magnitudeSaliency(w)), [2, 1, 0]);
  const u = Float64Array.from([1, 1, 1]);
  // ½w²/d + ½u²/d − w u/d − ½ gInvG
  assert.deepEqual(Array.from(woodTaylorSaliency(w, d, u, 0.2)), [0.5 + 0.125 - 0.5 - 0.1, 1 + 1 + 2 - 0.1, 0.5 - 0.1]);
});

test('WoodTaylor saliency = loss change ∇Lᵀδw + ½δwᵀFδw of the optimal single-weight step; equals OBS when ∇L = 0', () => {
  const seed = freshSeed(),
    r = rng(seed),
    n = 30,
    b = 12,
    damp = 1e-4;
  const G = gradients(r, n, b),
    w = randn(r, b, 0.1),
    grad = randn(r, b, 1e-3);
  const inv = fisherBlockInverse(G, n, b, damp, 'primal'),
    F = denseFisher(G, n, b, damp);
  const d = inv.diag(),
    u = inv.mul(grad);
  let gInvG = 0;
  for (let q = 0; q < b; q++) gInvG += grad[q] * u[q];
  const rho = woodTaylorSaliency(w, d, u, gInvG);
  const direct = new Float64Array(b);
  for (let q = 0; q < b; q++) {
    const e = new Float64Array(b);
    e[q] = 1;
    const c = inv.mul(e),
      a = (w[q] - u[q]) / d[q];
    const dw = u.map((x, j) => -x - a * c[j]); // δw = −u − a F⁻¹e_q
    let lin = 0,
      quad = 0;
    for (let i = 0; i < b; i++) {
      lin += grad[i] * dw[i];
      for (let j = 0; j < b; j++) quad += dw[i] * F[i * b + j] * dw[j];
    }
    assert.ok(Math.abs(w[q] + dw[q]) < 1e-12, 'the step zeroes w_q');
    direct[q] = lin + 0.5 * quad;
  }
  assert.ok(maxRelErr(rho, direct) < 1e-6, `seed ${seed}`);
  assert.deepEqual(Array.from(woodTaylorSaliency(w, d, new Float64Array(b), 0)), Array.from(obsSaliency(w, d)));
});
