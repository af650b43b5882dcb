// Optimizers that keep a mask: pruned weights stay exactly 0 after every step, and so does their optimizer state.
// Written here rather than tf.train.*: the TF.js optimizers keep their slots private (a mask could only be imposed
// by copying every slot out and back per step) and have no weight decay. Semantics follow PyTorch's SGD and AdamW.
//   SGD:   g ← (g + λ_wd·w)⊙M;  v ← (μ·v + g)⊙M;  w ← (w − η·v)⊙M
//   AdamW: m ← (β₁m + (1−β₁)g)⊙M;  v ← (β₂v + (1−β₂)g²)⊙M;  w ← (w − η(m̂/(√v̂ + ε) + λ_wd·w))⊙M
import { tf } from '../backend';
import { WoodFisherError, type OptimizerKind } from '../types';

export interface OptimizerOptions {
  kind: OptimizerKind;
  momentum: number; // μ (SGD); β₁ stays 0.9 for Adam
  weightDecay: number; // λ_wd: L2 in SGD's gradient, decoupled in AdamW
}

export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Slots per variable: SGD one (velocity), Adam two (first and second moments). */
const SLOTS: Record<OptimizerKind, string[]> = { sgd: ['velocity'], adam: ['m', 'v'] };

export interface OptimizerState {
  kind: OptimizerKind;
  step: number; // optimizer steps taken (Adam's bias correction)
  slots: { variable: string; slot: string; shape: number[]; values: Float32Array }[];
}

/** x⊙M + 0: pruned entries become +0 exactly (−0 + 0 = +0), whatever their sign was. */
function applyMask(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, mask), 0);
}

export class MaskedOptimizer {
  private readonly slots: tf.Variable[][];
  private readonly masks = new Map<number, tf.Tensor>(); // variable index → 0/1 mask of its shape
  step = 0;

  constructor(
    readonly variables: tf.Variable[],
    readonly options: OptimizerOptions,
  ) {
    this.slots = variables.map(v => SLOTS[options.kind].map(() => tf.variable(tf.zerosLike(v), false)));
  }

  /** Sets the mask of variable i (1 keeps, 0 prunes) and zeroes the weights and optimizer state it prunes. */
  setMask(i: number, keep: Float32Array | Uint8Array): void {
    const v = this.variables[i];
    if (keep.length !== v.size) throw new WoodFisherError(`mask of ${v.name} has ${keep.length} entries for ${v.size} weights`, 'OPTIONS');
    this.masks.get(i)?.dispose();
    const mask = tf.tensor(Float32Array.from(keep), v.shape, 'float32');
    this.masks.set(i, mask);
    tf.tidy(() => {
      v.assign(applyMask(v, mask));
      for (const s of this.slots[i]) s.assign(applyMask(s, mask));
    });
  }

  mask(i: number): Float32Array | undefined {
    return this.masks.get(i)?.dataSync() as Float32Array | undefined;
  }

  /** One step with learning rate η on the gradients (same order as the variables). */
  apply(grads: tf.Tensor[], lr: number): void {
    this.step++;
    const { kind, momentum, weightDecay } = this.options;
    const t = this.step;
    tf.tidy(() => {
      this.variables.forEach((w, i) => {
        const M = this.masks.get(i);
        const masked = (x: tf.Tensor) => (M ? applyMask(x, M) : x);
        let g = grads[i];
        if (kind === 'sgd') {
          if (weightDecay > 0) g = tf.add(g, tf.mul(w, weightDecay));
          const [vel] = this.slots[i];
          const vNew = masked(tf.add(tf.mul(vel, momentum), g));
          vel.assign(vNew);
          w.assign(masked(tf.sub(w, tf.mul(vNew, lr))));
        } else {
          const [m, v] = this.slots[i];
          g = masked(g);
          const mNew = tf.add(tf.mul(m, ADAM.beta1), tf.mul(g, 1 - ADAM.beta1));
          const vNew = tf.add(tf.mul(v, ADAM.beta2), tf.mul(tf.square(g), 1 - ADAM.beta2));
          m.assign(mNew);
          v.assign(vNew);
          const mHat = tf.div(mNew, 1 - ADAM.beta1 ** t);
          const vHat = tf.div(vNew, 1 - ADAM.beta2 ** t);
          let delta = tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM.epsilon));
          if (weightDecay > 0) delta = tf.add(delta, tf.mul(w, weightDecay));
          w.assign(masked(tf.sub(w, tf.mul(delta, lr))));
        }
      });
    });
  }

  /** Everything needed to continue exactly where this left off (not the masks: the caller saves those). */
  state(): OptimizerState {
    const names = SLOTS[this.options.kind];
    return {
      kind: this.options.kind,
      step: this.step,
      slots: this.slots.flatMap((s, i) =>
        s.map((x, j) => ({
          variable: this.variables[i].name,
          slot: names[j],
          shape: x.shape.slice(),
          values: x.dataSync() as Float32Array,
        })),
      ),
    };
  }

  restore(state: OptimizerState): void {
    const names = SLOTS[this.options.kind];
    if (state.kind !== this.options.kind)
      throw new WoodFisherError(`the checkpoint's optimizer is ${state.kind}, this run asks for ${this.options.kind}`, 'OPTIONS');
    if (state.slots.length !== this.slots.length * names.length)
      throw new WoodFisherError(
        `the checkpoint's optimizer state has ${state.slots.length} slots; the model needs ${this.slots.length * names.length}`,
        'OPTIONS',
      );
    state.slots.forEach((s, q) => {
      const i = Math.floor(q / names.length),
        j = q % names.length;
      const slot = this.slots[i][j];
      if (s.shape.join() !== slot.shape.join() || s.slot !== names[j])
        throw new WoodFisherError(`the checkpoint's optimizer slot ${s.variable}/${s.slot} does not fit the model`, 'OPTIONS');
      const t = tf.tensor(s.values, slot.shape, 'float32');
      slot.assign(t);
      t.dispose();
    });
    this.step = state.step;
  }

  dispose(): void {
    for (const s of this.slots.flat()) s.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}
