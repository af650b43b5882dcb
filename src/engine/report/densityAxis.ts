// Sparsity on a log axis of density: x = −log10(1 − s). 0% → 0, 90% → 1, 99% → 2, 99.9% → 3 — every "nine" gets
// the same room, so 80–99%, where pruning methods part ways, is not squeezed into the right edge of a linear axis.
// Pure (no imports): the CLI's sweep.svg and the panel's Chart.js sweep (through src/protocol.ts) share it.

export const DENSITY_FLOOR = 1e-4; // s = 99.99%: the axis ends there (s = 1 would be at infinity)

export function densityX(sparsity: number): number {
  return -Math.log10(Math.max(1 - sparsity, DENSITY_FLOOR)) + 0; // + 0: no −0 at s = 0
}

export function sparsityAtX(x: number): number {
  return 1 - 10 ** -x;
}

/** Round sparsities worth a tick, up to the largest one plotted. */
export function densityTicks(maxSparsity: number): number[] {
  const all = [0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999];
  const last = all.findIndex(s => s >= maxSparsity - 1e-9);
  return all.slice(0, last < 0 ? all.length : last + 1);
}

/** "95%", "99.5%": a sparsity as a tick label. */
export function sparsityLabel(s: number): string {
  return `${+(s * 100).toFixed(2)}%`;
}
