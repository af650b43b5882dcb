// Sparsity per layer as horizontal bars, one row per layer in model order: the box grows with the layer count and
// scrolls (legible for 50–100 layers, where vertical bars would squeeze their labels). Bars above the table's
// highlight sparsity and collapsed layers take the warning colours; a click reveals the layer's row.
import type { PanelSnapshot } from '../src/protocol';
import { draw, type theme } from './chartKit';
import { isAbove, isCollapsed, rowsOf } from './layerRows';
import { tableView } from './viewState';

const ROW_PX = 16; // per layer: the label's line height
const AXIS_PX = 48; // x axis and title
export const BARS_MAX_PX = 360; // taller lists scroll inside .chart-scroll

export function renderSparsityBars(s: PanelSnapshot, t: ReturnType<typeof theme>): void {
  const highlightPercent = tableView.highlight;
  const rows = rowsOf(s).filter(r => r.result);
  const box = document.getElementById('chart-sparsity')?.parentElement;
  if (box) box.style.height = `${Math.max(160, rows.length * ROW_PX + AXIS_PX)}px`;
  const colour = (i: number) => (isCollapsed(rows[i]) ? t.palette[4] : isAbove(rows[i], highlightPercent) ? t.palette[1] : t.palette[0]);
  draw('chart-sparsity', {
    type: 'bar',
    data: {
      labels: rows.map(r => r.name),
      datasets: [
        {
          label: 'sparsity %',
          data: rows.map(r => (r.result!.excluded ? 0 : r.result!.sparsity * 100)),
          backgroundColor: rows.map((_, i) => colour(i)),
          barThickness: 'flex',
          maxBarThickness: 22,
        },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: item => {
              const r = rows[item.dataIndex].result!;
              return r.excluded
                ? 'excluded (dense)'
                : `${(r.sparsity * 100).toFixed(2)}% · ${r.pruned.toLocaleString('en-US')} of ${r.weights.toLocaleString('en-US')} pruned`;
            },
          },
        },
      },
      scales: {
        x: { min: 0, max: 100, position: 'top', title: { display: true, text: '% pruned' } },
        y: { ticks: { autoSkip: false, font: { size: 11 } } },
      },
      onClick: (_e, elements) => {
        const i = elements[0]?.index;
        if (i !== undefined) document.dispatchEvent(new CustomEvent('woodfisher:layer', { detail: rows[i].name }));
      },
    },
  });
}
