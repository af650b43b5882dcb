// Small seeded PRNG (mulberry32) so samples and sampled labels are reproducible from the run's seed.

/** Returns a generator of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k distinct indices from [0, n), in random order (partial Fisher–Yates). */
export function sampleIndices(n: number, k: number, rand: () => number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const m = Math.min(k, n);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.slice(0, m);
}

/** Draws an index from a discrete distribution p (need not be exactly normalised). */
export function sampleCategorical(p: ArrayLike<number>, rand: () => number, offset = 0, length = p.length - offset): number {
  let total = 0;
  for (let i = 0; i < length; i++) total += p[offset + i];
  let u = rand() * total;
  for (let i = 0; i < length; i++) {
    u -= p[offset + i];
    if (u < 0) return i;
  }
  return length - 1;
}
