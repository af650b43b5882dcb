// The per-layer table: one row per prunable layer, `tr[data-layer="<name>"]`, updated in place; sorted by the column
// the user clicked, filtered by name, rows above the chosen sparsity marked `over`, collapsed layers `collapsed`.
import type { LayerResult, PanelSnapshot } from '../src/protocol';
import { count, pct, sci } from './format';
import { COLUMNS, filterRows, isAbove, isCollapsed, rowsOf, sortRows, type Column, type Row } from './layerRows';
import { tableView } from './viewState';

export function renderTable(tbody: HTMLTableSectionElement, s: PanelSnapshot): void {
  const all = rowsOf(s);
  const rows = sortRows(filterRows(all, tableView.filter), tableView.sort, tableView.dir);
  const keep = new Set(rows.map(r => r.name));
  for (const row of Array.from(tbody.rows)) if (!keep.has(row.dataset.layer ?? '')) row.remove();
  const existing = new Map(Array.from(tbody.rows).map(r => [r.dataset.layer ?? '', r]));
  rows.forEach((r, i) => {
    let row = existing.get(r.name);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.layer = r.name;
      for (let c = 0; c < COLUMNS.length; c++) row.insertCell();
    }
    if (tbody.rows[i] !== row) tbody.insertBefore(row, tbody.rows[i] ?? null);
    fillRow(row, r);
  });
  const thead = tbody.parentElement?.querySelector('thead tr');
  thead?.querySelectorAll('th').forEach((th, i) => {
    const column = COLUMNS[i];
    th.setAttribute('aria-sort', tableView.sort === column ? (tableView.dir === 'asc' ? 'ascending' : 'descending') : 'none');
  });
  const counter = document.getElementById('layer-count');
  if (counter) {
    const over = all.filter(r => isAbove(r, tableView.highlight)).length;
    const collapsed = all.filter(isCollapsed).length;
    counter.textContent = [
      rows.length === all.length ? `${all.length} layers` : `${rows.length} of ${all.length} layers`,
      tableView.highlight !== undefined ? `${over} above ${tableView.highlight}%` : '',
      collapsed ? `⚠ ${collapsed} collapsed (≥ 99% pruned)` : '',
    ]
      .filter(Boolean)
      .join(' · ');
  }
}

function fillRow(row: HTMLTableRowElement, { name, kind, weights, result: r }: Row): void {
  const collapsed = isCollapsed({ name, kind, order: 0, result: r });
  const cells = [
    name,
    `${kind}${r?.units ? ` · ${r.units.kept}/${r.units.of} units` : ''}`,
    count(weights),
    r ? count(r.pruned) : '–',
    r ? (r.excluded ? 'excluded' : `${collapsed ? '⚠ ' : ''}${pct(r.sparsity)}`) : '–',
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
  row.classList.toggle('over', isAbove({ name, kind, order: 0, result: r }, tableView.highlight));
  row.classList.toggle('collapsed', collapsed);
  row.title = rowTitle(r, collapsed);
}

function rowTitle(r: LayerResult | undefined, collapsed: boolean): string {
  const parts = [];
  if (r?.form) parts.push(`${r.blocks} Fisher block(s), ${r.form} form`);
  if (collapsed) parts.push('nearly every weight of this layer is pruned: it may cut the network here (lower its sparsity in the recipe)');
  parts.push('click: show in model.json');
  return parts.join('\n');
}

/** Clicking a header sorts by it: descending first for numbers, ascending for names; a third click restores model order. */
export function nextSort(column: Column): void {
  const first = column === 'layer' || column === 'kind' ? 'asc' : 'desc';
  if (tableView.sort !== column) {
    tableView.sort = column;
    tableView.dir = first;
    return;
  }
  if (tableView.dir === first) {
    tableView.dir = first === 'asc' ? 'desc' : 'asc';
    return;
  }
  tableView.sort = undefined;
}

/** Scrolls to a layer's row and highlights it briefly (CodeLens → panel). */
export function revealRow(tbody: HTMLTableSectionElement, name: string): boolean {
  const row = Array.from(tbody.rows).find(r => r.dataset.layer === name);
  for (const r of Array.from(tbody.querySelectorAll('tr.highlight'))) r.classList.remove('highlight');
  if (!row) return false;
  row.classList.add('highlight');
  row.scrollIntoView({ block: 'center', behavior: 'smooth' });
  return true;
}
