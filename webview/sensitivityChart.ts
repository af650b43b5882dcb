// Per-layer sensitivity: for each layer (x, model order) and each sparsity (one line each), how much accuracy drops
// — or loss rises — when that layer alone is pruned. A click on a point writes that layer's sparsity into the recipe.
import type { PanelSnapshot, SensitivityPoint } from '../src/protocol';
import { draw, type theme } from './chartKit';
import { tableView } from './viewState';

const PX_PER_LAYER = 22; // wider than the panel: the box scrolls sideways

/** The plotted value: accuracy drop in points, or loss increase, against the dense model. */
export function sensitivityValue(
  p: SensitivityPoint,
  dense: { accuracy: number; loss: number } | undefined,
  metric: 'accuracy' | 'loss',
): number {
  if (!dense) return metric === 'accuracy' ? p.accuracy * 100 : p.loss;
  return metric === 'accuracy' ? (dense.accuracy - p.accuracy) * 100 : p.loss - dense.loss;
}

export function renderSensitivity(s: PanelSnapshot, t: ReturnType<typeof theme>, onPick: (layer: string, sparsity: number) => void): void {
  const view = s.sensitivity;
  const section = document.getElementById('sensitivity-section');
  if (section) section.hidden = !view;
  if (!view) return;
  const layers = view.layers.length ? view.layers : [...new Set(view.points.map(p => p.layer))];
  renderHeatTable(view, layers, t);
  const status = document.getElementById('sensitivity-status');
  if (status) {
    const done = view.points.length,
      total = layers.length * view.sparsities.length;
    status.textContent =
      view.status === 'running'
        ? `scanning… ${done} probes`
        : view.status === 'done'
          ? `${view.method}, each layer pruned alone · ${layers.length} layers × ${view.sparsities.length} sparsities · measured on the ${view.on === 'eval' ? 'evaluation' : 'calibration'} set${view.dense ? ` (dense: accuracy ${(view.dense.accuracy * 100).toFixed(2)}%, loss ${view.dense.loss.toFixed(4)})` : ''}`
          : `${view.status} after ${done} of ${total} probes`;
  }
  const box = document.getElementById('chart-sensitivity')?.parentElement;
  if (box) box.style.minWidth = `${Math.max(0, layers.length * PX_PER_LAYER)}px`;
  const metric = tableView.metric;
  const find = (layer: string, sparsity: number) => view.points.find(p => p.layer === layer && p.sparsity === sparsity);
  draw('chart-sensitivity', {
    type: 'line',
    data: {
      labels: layers,
      datasets: view.sparsities.map((sp, i) => ({
        label: `${+(sp * 100).toFixed(2)}%`,
        borderColor: t.palette[i % t.palette.length],
        backgroundColor: t.palette[i % t.palette.length],
        pointRadius: 3,
        pointHoverRadius: 6,
        borderWidth: 1.5,
        spanGaps: false,
        data: layers.map(l => {
          const p = find(l, sp);
          return p ? sensitivityValue(p, view.dense, metric) : null;
        }),
      })),
    },
    options: {
      interaction: { mode: 'nearest', intersect: true },
      scales: {
        x: { ticks: { autoSkip: false, maxRotation: 90, minRotation: layers.length > 8 ? 60 : 0, font: { size: 11 } } },
        y: {
          title: {
            display: true,
            text: metric === 'accuracy' ? (view.dense ? 'accuracy drop (points)' : 'accuracy %') : view.dense ? 'loss increase' : 'loss',
          },
        },
      },
      plugins: {
        legend: { title: { display: true, text: 'layer pruned alone to' } },
        tooltip: {
          callbacks: {
            title: items => (items[0] ? `${layers[items[0].dataIndex]} alone at ${items[0].dataset.label}` : ''),
            label: item => {
              const p = find(layers[item.dataIndex], view.sparsities[item.datasetIndex]);
              if (!p) return '';
              const d = view.dense;
              return [
                `accuracy ${(p.accuracy * 100).toFixed(2)}%${d ? ` (${((p.accuracy - d.accuracy) * 100).toFixed(2)})` : ''}`,
                `loss ${p.loss.toFixed(4)}${d ? ` (+${(p.loss - d.loss).toFixed(4)})` : ''}`,
                `achieved ${(p.achieved * 100).toFixed(2)}% of the layer`,
                'click: set this sparsity for the layer in the recipe',
              ];
            },
          },
        },
      },
      onClick: (_e, elements) => {
        const el = elements[0];
        if (el) onPick(layers[el.index], view.sparsities[el.datasetIndex]);
      },
    },
  });
}

/**
 * The same numbers as a heat table, one row per layer (legible for 100 layers, readable without colour): each cell a
 * button that writes that layer's sparsity into the recipe. `table#sensitivity-table tr[data-layer] button[data-sparsity]`.
 */
function renderHeatTable(view: NonNullable<PanelSnapshot['sensitivity']>, layers: string[], t: ReturnType<typeof theme>): void {
  const table = document.getElementById('sensitivity-table') as HTMLTableElement | null;
  if (!table) return;
  const metric = tableView.metric;
  const values = view.points.map(p => sensitivityValue(p, view.dense, metric));
  const worst = Math.max(1e-12, ...values.map(Math.abs));
  const head = table.tHead ?? table.createTHead();
  head.replaceChildren();
  const hr = head.insertRow();
  for (const text of ['layer', ...view.sparsities.map(sp => `${+(sp * 100).toFixed(2)}%`)]) {
    const th = document.createElement('th');
    th.textContent = text;
    if (text !== 'layer') th.className = 'num';
    hr.appendChild(th);
  }
  const body = table.tBodies[0] ?? table.createTBody();
  body.replaceChildren();
  for (const layer of layers) {
    const row = body.insertRow();
    row.dataset.layer = layer;
    row.insertCell().textContent = layer;
    for (const sp of view.sparsities) {
      const cell = row.insertCell();
      cell.className = 'num';
      const p = view.points.find(q => q.layer === layer && q.sparsity === sp);
      if (!p) {
        cell.textContent = '–';
        continue;
      }
      const v = sensitivityValue(p, view.dense, metric);
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'cell';
      b.dataset.sparsity = String(sp);
      b.textContent = metric === 'accuracy' ? v.toFixed(2) : v.toPrecision(3);
      b.title = `${layer} alone at ${(sp * 100).toFixed(2)}%: accuracy ${(p.accuracy * 100).toFixed(2)}%, loss ${p.loss.toFixed(4)} — click to set ${layer}: sparsity ${sp} in the recipe`;
      // heat: the theme's red, stronger for a larger drop (the number stays readable in every theme)
      cell.style.background = v > 0 ? `color-mix(in srgb, ${t.palette[4]} ${Math.round(60 * Math.min(1, v / worst))}%, transparent)` : '';
      cell.appendChild(b);
    }
  }
}
