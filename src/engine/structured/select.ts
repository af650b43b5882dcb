// Which unit classes to remove: lowest class saliency first, globally or layer by layer, to a fraction of units or a
// MACs target, never below each layer's minimum.
import { WoodFisherError } from '../types';
import type { ChannelGraph } from './graph';
import type { MacCounter } from './cost';

export interface UnitSelection {
  sparsity: number; // fraction of removable units to remove (ignored with targetMacs)
  targetMacs?: number; // remove until MACs ≤ this
  scope: 'global' | 'layer';
  layerSparsity?: Record<string, number>; // producers with their own fraction (chosen layer by layer)
  fixed?: Set<number>; // classes that must stay (excluded layers)
  minKeep: number; // each producer keeps ≥ max(1, ⌈minKeep·units⌉)
}

/** removed[c] = 1 for the classes to remove; shortfall = units a fraction asked for that the minimums kept. */
export function selectUnits(
  g: ChannelGraph,
  saliency: Float64Array,
  counter: MacCounter,
  s: UnitSelection,
): { removed: Uint8Array; shortfall: number } {
  if (saliency.length !== g.classes.length)
    throw new WoodFisherError(`${saliency.length} saliencies for ${g.classes.length} unit classes`, 'OPTIONS');
  for (let c = 0; c < saliency.length; c++)
    if (Number.isNaN(saliency[c]))
      throw new WoodFisherError(`the saliency of a unit is NaN; check the damping λ and the gradients`, 'NUMERIC');
  const prodIndex = new Map(g.producers.map((p, i) => [p.name, i]));
  const kept = g.producers.map(p => p.units);
  const floor = g.producers.map(p => Math.max(1, Math.ceil(s.minKeep * p.units)));
  const removed = new Uint8Array(g.classes.length);
  let shortfall = 0;
  const perLayer = (c: number) => {
    const n = new Map<number, number>();
    for (const u of g.classes[c].units) {
      const i = prodIndex.get(u.layer)!;
      n.set(i, (n.get(i) ?? 0) + 1);
    }
    return n;
  };
  const tryRemove = (c: number): boolean => {
    if (removed[c] || s.fixed?.has(c)) return false;
    const n = perLayer(c);
    for (const [i, k] of n) if (kept[i] - k < floor[i]) return false;
    for (const [i, k] of n) kept[i] -= k;
    removed[c] = 1;
    counter.remove(c);
    return true;
  };
  const undoAll = () => {
    removed.forEach((r, c) => {
      if (r) counter.restore(c);
    });
    removed.fill(0);
    g.producers.forEach((p, i) => {
      kept[i] = p.units;
    });
  };
  const ascending = (ids: number[]) => ids.sort((a, b) => saliency[a] - saliency[b] || a - b);
  // owner of a class: its first producer (model order); layer-by-layer choices are made there
  const owner = g.classes.map(cl => Math.min(...cl.units.map(u => prodIndex.get(u.layer)!)));
  const units = (c: number) => g.classes[c].units.length;

  const byLayer = (frac: (producer: number) => number | undefined) => {
    for (let i = 0; i < g.producers.length; i++) {
      const f = frac(i);
      if (f === undefined) continue;
      const own = ascending(g.classes.map((_, c) => c).filter(c => owner[c] === i && !s.fixed?.has(c)));
      const goal = Math.round(f * own.reduce((a, c) => a + units(c), 0));
      let done = 0;
      for (const c of own) {
        if (done >= goal) break;
        if (tryRemove(c)) done += units(c);
      }
      shortfall += Math.max(0, goal - done);
    }
  };
  const own = (i: number) => s.layerSparsity?.[g.producers[i].name];
  byLayer(own); // layers with their own fraction first
  const pooled = ascending(g.classes.map((_, c) => c).filter(c => own(owner[c]) === undefined));

  if (s.targetMacs === undefined) {
    if (s.scope === 'layer') byLayer(i => (own(i) === undefined ? s.sparsity : undefined));
    else {
      const goal = Math.round(s.sparsity * pooled.filter(c => !s.fixed?.has(c)).reduce((a, c) => a + units(c), 0));
      let done = 0;
      for (const c of pooled) {
        if (done >= goal) break;
        if (tryRemove(c)) done += units(c);
      }
      shortfall += Math.max(0, goal - done);
    }
    return { removed, shortfall };
  }
  const target = s.targetMacs;
  if (s.scope === 'global') {
    for (const c of pooled) {
      if (counter.total() <= target) break;
      tryRemove(c);
    }
    return { removed, shortfall: 0 };
  }
  // layer by layer to a MACs target: the smallest uniform fraction that reaches it (bisection)
  const fixedChoice = Uint8Array.from(removed);
  const run = (f: number) => {
    undoAll();
    fixedChoice.forEach((r, c) => {
      if (r) tryRemove(c);
    });
    byLayer(i => (own(i) === undefined ? f : undefined));
    return counter.total();
  };
  let lo = 0,
    hi = 1;
  if (run(hi) > target) return { removed, shortfall: 0 }; // cannot reach it: as far as the minimums allow
  for (let it = 0; it < 30; it++) {
    const mid = (lo + hi) / 2;
    if (run(mid) <= target) hi = mid;
    else lo = mid;
  }
  run(hi);
  return { removed, shortfall: 0 };
}
