// The layer table's rows as data: sort by any column, filter by name, flag layers above a chosen sparsity and layers
// that (nearly) collapsed. Pure — no DOM — so it is unit-tested; table.ts renders what this returns.
import type { LayerResult, PanelSnapshot } from '../src/protocol';

export const COLUMNS = ['layer', 'kind', 'weights', 'pruned', 'sparsity', 'threshold', 'saliency min', 'median', 'max'] as const;
export type Column = (typeof COLUMNS)[number];
export type Direction = 'asc' | 'desc';

/** A layer is "collapsed" when pruning left (almost) nothing of it: the network may be cut there. */
export const COLLAPSE_SPARSITY = 0.99;

export interface Row {
  name: string;
  order: number; // position in the model (the plan's order)
  kind: string;
  weights?: number;
  result?: LayerResult;
}

/** Rows of the prunable layers (pending ones without a result), then any result not among them, in model order. */
export function rowsOf(s: PanelSnapshot): Row[] {
  const results = new Map(s.layers.map(l => [l.name, l]));
  const prunable = new Map(s.prunable?.map(p => [p.name, p]) ?? []);
  const names = [...prunable.keys(), ...s.layers.map(l => l.name)].filter((n, i, a) => a.indexOf(n) === i);
  return names.map((name, order) => {
    const r = results.get(name),
      p = prunable.get(name);
    return { name, order, kind: r?.kind ?? p?.kind ?? '', weights: r?.weights ?? p?.size, result: r };
  });
}

/** The value a column sorts by (undefined: no value yet, always last). */
export function sortValue(row: Row, column: Column): number | string | undefined {
  const r = row.result;
  const num = (x: number | undefined | null) => (x === undefined || x === null || Number.isNaN(x) ? undefined : x);
  switch (column) {
    case 'layer':
      return row.name.toLowerCase();
    case 'kind':
      return row.kind;
    case 'weights':
      return row.weights;
    case 'pruned':
      return num(r?.pruned);
    case 'sparsity':
      return num(r ? (r.excluded ? 0 : r.sparsity) : undefined);
    case 'threshold':
      return num(r?.threshold);
    case 'saliency min':
      return num(r?.saliency.min);
    case 'median':
      return num(r?.saliency.median);
    case 'max':
      return num(r?.saliency.max);
  }
}

/** Stable sort by a column; rows without a value go last either way; ties keep model order. */
export function sortRows(rows: Row[], column: Column | undefined, dir: Direction): Row[] {
  if (!column) return [...rows].sort((a, b) => a.order - b.order);
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = sortValue(a, column),
      y = sortValue(b, column);
    if (x === undefined || y === undefined) return x === y ? a.order - b.order : x === undefined ? 1 : -1;
    const c = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y;
    return c !== 0 ? sign * c : a.order - b.order;
  });
}

/** Case-insensitive name filter; space-separated words must all appear (e.g. "block_3 depthwise"). */
export function filterRows(rows: Row[], query: string): Row[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return rows;
  return rows.filter(r => words.every(w => r.name.toLowerCase().includes(w) || r.kind.toLowerCase() === w));
}

/** Above the user's highlight sparsity (a percentage; undefined or empty: no highlight). */
export function isAbove(row: Row, percent: number | undefined): boolean {
  return percent !== undefined && Number.isFinite(percent) && !!row.result && !row.result.excluded && row.result.sparsity * 100 > percent;
}

export function isCollapsed(row: Row): boolean {
  return !!row.result && !row.result.excluded && row.result.sparsity >= COLLAPSE_SPARSITY;
}
