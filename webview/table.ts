// The per-layer table: one row per prunable layer, `tr[data-layer="<name>"]`, updated in place.
import type { PanelSnapshot } from '../src/protocol';
import { count, pct, sci } from './format';

/** What one row shows: the layer, its nine cells, whether its result is still pending, and its tooltip. */
export interface TableRow { layer: string; cells: string[]; pending: boolean; title: string }

/** Rows for every prunable layer (pending ones show dashes), then any result not among them. Pure: unit-tested. */
export function tableRows(s: PanelSnapshot): TableRow[] {
  const results = new Map(s.layers.map(l => [l.name, l]));
  const names = [...(s.prunable?.map(p => p.name) ?? []), ...s.layers.map(l => l.name)].filter((n, i, a) => a.indexOf(n) === i);
  const prunable = new Map(s.prunable?.map(p => [p.name, { kind: p.kind as string, size: p.size }]) ?? []);
  return names.map(name => {
    const r = results.get(name), p = prunable.get(name);
    return {
      layer: name,
      cells: [
        name,
        `${r?.kind ?? p?.kind ?? ''}${r?.units ? ` · ${r.units.kept}/${r.units.of} units` : ''}`,
        count(r?.weights ?? p?.size),
        r ? count(r.pruned) : '–',
        r ? (r.excluded ? 'excluded' : pct(r.sparsity)) : '–',
        r ? sci(r.threshold) : '–',
        r ? sci(r.saliency.min) : '–',
        r ? sci(r.saliency.median) : '–',
        r ? sci(r.saliency.max) : '–',
      ],
      pending: !r,
      title: r?.form ? `${r.blocks} Fisher block(s), ${r.form} form` : '',
    };
  });
}

/** Brings the table body to tableRows(s), updating rows in place (a selection or highlight survives updates). */
export function renderTable(tbody: HTMLTableSectionElement, s: PanelSnapshot): void {
  const rows = tableRows(s);
  const keep = new Set(rows.map(r => r.layer));
  for (const row of Array.from(tbody.rows)) if (!keep.has(row.dataset.layer ?? '')) row.remove();
  rows.forEach((want, i) => {
    let row = Array.from(tbody.rows).find(r => r.dataset.layer === want.layer);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.layer = want.layer;
      for (let c = 0; c < want.cells.length; c++) row.insertCell();
    }
    if (tbody.rows[i] !== row) tbody.insertBefore(row, tbody.rows[i] ?? null);
    want.cells.forEach((text, c) => {
      const cell = row.cells[c];
      if (cell.textContent !== text) cell.textContent = text;
      cell.className = c >= 2 ? 'num' : '';
    });
    row.classList.toggle('pending', want.pending);
    row.title = want.title;
  });
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
