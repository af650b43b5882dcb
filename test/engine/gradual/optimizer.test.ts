// Masked optimizers: pruned weights and their optimizer state stay exactly 0 through every step; the kept weights
// follow SGD / momentum / AdamW as computed in float64 here (relative error at float32 level).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../src/engine/backend';
import { MaskedOptimizer, ADAM } from '../../../src/engine/gradual/optimizer';
import { mulberry32 } from '../../../src/engine/data/random';
import type { OptimizerKind } from '../../../src/engine/types';

function randn(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

const relErr = (x: ArrayLike<number>, ref: Float64Array) => {
  let num = 0,
    den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (x[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
};

for (const [kind, momentum, wd] of [
  ['sgd', 0, 0],
  ['sgd', 0.9, 1e-3],
  ['adam', 0.9, 0],
  ['adam', 0.9, 1e-2],
] as [OptimizerKind, number, number][]) {
  test(`${kind}${kind === 'sgd' ? (momentum ? ' with momentum' : ' plain') : ''}${wd ? ' + weight decay' : ''}: masked entries exactly 0, kept ones match float64`, async () => {
    await initBackend('wasm');
    const rand = mulberry32(Math.floor(Math.random() * 2 ** 31)); // fresh inputs every run
    const shape = [13, 7],
      d = 91,
      steps = 6;
    const w0 = Float64Array.from({ length: d }, () => randn(rand));
    const keep = Float64Array.from({ length: d }, () => (rand() < 0.6 ? 0 : 1));
    const grads = Array.from({ length: steps }, () => Float64Array.from({ length: d }, () => randn(rand)));
    const lrs = Array.from({ length: steps }, () => 0.01 + 0.1 * rand());
    const v = tf.variable(tf.tensor(Float32Array.from(w0), shape));
    const bias = tf.variable(
      tf.tensor(
        Float32Array.from({ length: 7 }, () => randn(rand)),
        [7],
      ),
    ); // no mask: trains freely
    const opt = new MaskedOptimizer([v, bias], { kind, momentum, weightDecay: wd });
    // A step before the mask exists: the state it builds for pruned weights must be cleared by setMask.
    const g0 = Float64Array.from({ length: d }, () => randn(rand));
    const pre = tf.tensor(Float32Array.from(g0), shape),
      preB = tf.zeros([7]);
    opt.apply([pre, preB], 0.05);
    tf.dispose([pre, preB]);
    opt.setMask(0, Float32Array.from(keep));
    // The reference starts from the weights and state after that step, masked.
    const wStart = Float64Array.from(v.dataSync());
    const startState = opt
      .state()
      .slots.filter(s => s.variable === v.name)
      .map(s => Float64Array.from(s.values));
    for (const s of startState) for (let i = 0; i < d; i++) assert.ok(keep[i] || s[i] === 0, 'setMask cleared the pruned slots');
    for (let i = 0; i < d; i++) assert.ok(keep[i] || wStart[i] === 0, 'setMask zeroed the pruned weights');
    for (let s = 0; s < steps; s++) {
      const g = tf.tensor(Float32Array.from(grads[s]), shape),
        gb = tf.ones([7]);
      opt.apply([g, gb], lrs[s]);
      tf.dispose([g, gb]);
      const w = v.dataSync();
      for (let i = 0; i < d; i++) if (!keep[i]) assert.equal(w[i], 0, `step ${s + 1}: pruned weight ${i} is ${w[i]}`);
      for (const slot of opt.state().slots.filter(x => x.variable === v.name)) {
        for (let i = 0; i < d; i++)
          if (!keep[i]) assert.equal(slot.values[i], 0, `step ${s + 1}: ${slot.slot}[${i}] of a pruned weight is ${slot.values[i]}`);
      }
    }
    // Continue the reference from the post-setMask state (slots carried over).
    const ref = referenceFrom(kind, wStart, keep, startState, grads, lrs, momentum, wd, 1);
    const err = relErr(v.dataSync(), ref.w);
    assert.ok(err < 1e-5, `relative error of the kept weights ${err}`);
    const slots = opt.state().slots.filter(s => s.variable === v.name);
    slots.forEach((s, j) =>
      assert.ok(relErr(s.values, ref.slots[j]) < 1e-5, `${s.slot}: relative error ${relErr(s.values, ref.slots[j])}`),
    );
    assert.ok(
      bias.dataSync().some(x => x !== 0),
      'unmasked variables train',
    );
    opt.dispose();
    v.dispose();
    bias.dispose();
  });
}

/** Float64 reference of the same rules (PyTorch SGD with momentum, AdamW), mask applied to everything, continued
 *  from a given state after `done` steps (Adam's bias correction counts from there). */
function referenceFrom(
  kind: OptimizerKind,
  w0: Float64Array,
  keep: Float64Array,
  state: Float64Array[],
  grads: Float64Array[],
  lrs: number[],
  momentum: number,
  wd: number,
  done: number,
) {
  const d = w0.length;
  const w = Float64Array.from(w0);
  const a = Float64Array.from(state[0]),
    b = state[1] ? Float64Array.from(state[1]) : new Float64Array(d);
  grads.forEach((g, s) => {
    const t = done + s + 1,
      lr = lrs[s];
    for (let i = 0; i < d; i++) {
      if (kind === 'sgd') {
        const gi = (g[i] + wd * w[i]) * keep[i];
        a[i] = (momentum * a[i] + gi) * keep[i];
        w[i] = (w[i] - lr * a[i]) * keep[i];
      } else {
        const gi = g[i] * keep[i];
        a[i] = ADAM.beta1 * a[i] + (1 - ADAM.beta1) * gi;
        b[i] = ADAM.beta2 * b[i] + (1 - ADAM.beta2) * gi * gi;
        const mh = a[i] / (1 - ADAM.beta1 ** t),
          vh = b[i] / (1 - ADAM.beta2 ** t);
        w[i] = (w[i] - lr * (mh / (Math.sqrt(vh) + ADAM.epsilon) + wd * w[i])) * keep[i];
      }
    }
  });
  return { w, slots: kind === 'sgd' ? [a] : [a, b] };
}

test('state() and restore() carry an optimizer over exactly (what a checkpoint holds)', async () => {
  await initBackend('wasm');
  const rand = mulberry32(7);
  const mk = () =>
    tf.variable(
      tf.tensor(
        Float32Array.from({ length: 12 }, () => randn(rand)),
        [3, 4],
      ),
    );
  const a = mk(),
    b = tf.variable(a.clone());
  const o1 = new MaskedOptimizer([a], { kind: 'adam', momentum: 0.9, weightDecay: 0 });
  const g = tf.tensor(
    Float32Array.from({ length: 12 }, () => randn(rand)),
    [3, 4],
  );
  o1.apply([g], 0.01);
  o1.apply([g], 0.01);
  const o2 = new MaskedOptimizer([b], { kind: 'adam', momentum: 0.9, weightDecay: 0 });
  b.assign(a);
  o2.restore(o1.state());
  o1.apply([g], 0.01);
  o2.apply([g], 0.01);
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  assert.throws(() => new MaskedOptimizer([b], { kind: 'sgd', momentum: 0.9, weightDecay: 0 }).restore(o1.state()), /optimizer is adam/);
  tf.dispose([g, a, b]);
  o1.dispose();
  o2.dispose();
});
