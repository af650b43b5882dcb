// The per-layer table: one row per prunable layer, `tr[data-layer="<name>"]`, updated in place.
import type { LayerResult, PanelSnapshot } from '../src/protocol';
import { count, pct, sci } from './format';

export function renderTable(tbody: HTMLTableSectionElement, s: PanelSnapshot): void {
  const results = new Map(s.layers.map(l => [l.name, l]));
  // Rows for every planned layer (pending ones show dashes), then any result not in the plan.
  const names = [...(s.plan?.map(p => p.name) ?? []), ...s.layers.map(l => l.name)].filter((n, i, a) => a.indexOf(n) === i);
  const kinds = new Map(s.plan?.map(p => [p.name, { kind: p.kind as string, size: p.size }]) ?? []);
  const keep = new Set(names);
  for (const row of Array.from(tbody.rows)) if (!keep.has(row.dataset.layer ?? '')) row.remove();
  names.forEach((name, i) => {
    let row = Array.from(tbody.rows).find(r => r.dataset.layer === name);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.layer = name;
      for (let c = 0; c < 9; c++) row.insertCell();
    }
    if (tbody.rows[i] !== row) tbody.insertBefore(row, tbody.rows[i] ?? null);
    fillRow(row, name, results.get(name), kinds.get(name));
  });
}

function fillRow(row: HTMLTableRowElement, name: string, r: LayerResult | undefined, plan?: { kind: string; size: number }): void {
  const cells = [
    name,
    `${r?.kind ?? plan?.kind ?? ''}${r?.units ? ` · ${r.units.kept}/${r.units.of} units` : ''}`,
    count(r?.weights ?? plan?.size),
    r ? count(r.pruned) : '–',
    r ? (r.excluded ? 'excluded' : pct(r.sparsity)) : '–',
    r ? sci(r.threshold) : '–',
    r ? sci(r.saliency.min) : '–',
    r ? sci(r.saliency.median) : '–',
    r ? sci(r.saliency.max) : '–',
  ];
  cells.forEach((text, i) => {
    const cell = row.cells[i];
    if (cell.textContent !== text) cell.textContent = text;
    cell.className = i >= 2 ? 'num' : '';
  });
  row.classList.toggle('pending', !r);
  row.title = r?.form ? `${r.blocks} Fisher block(s), ${r.form} form` : '';
}

/** Scrolls to a layer's row and highlights it briefly (CodeLens → panel). */
export function revealRow(tbody: HTMLTableSectionElement, name: string): boolean {
  const row = Array.from(tbody.rows).find(r => r.dataset.layer === name);
  for (const r of Array.from(tbody.querySelectorAll("tr.highlight"))) r.classList.remove('highlight');
  if (!row) return false;
  row.classList.add('highlight');
  row.scrollIntoView({ block: 'center', behavior: 'smooth' });
  return true;
}
