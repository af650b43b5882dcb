// The sweep: accuracy against sparsity per method on a log axis of density 1 − s (densityAxis.ts), so 80–99% — where
// methods part ways — gets most of the width; the dense accuracy as a dashed line; tooltips with the exact figures.
import type { PanelSnapshot, SweepPoint } from '../src/protocol';
import { densityTicks, densityX, sparsityAtX, sparsityLabel } from '../src/protocol';
import { draw, type theme } from './chartKit';

export function renderSweepChart(s: PanelSnapshot, t: ReturnType<typeof theme>): void {
  const points = s.sweep ?? [];
  const methods = [...new Set(points.map(p => p.method))];
  const ticks = densityTicks(Math.max(0.9, ...points.map(p => p.sparsity)));
  const xMax = densityX(ticks[ticks.length - 1]);
  const byMethod = methods.map(m => points.filter(p => p.method === m && p.accuracy !== undefined).sort((a, b) => a.sparsity - b.sparsity));
  const datasets: {
    label: string;
    borderColor: string;
    backgroundColor: string;
    pointRadius: number;
    pointHoverRadius: number;
    data: { x: number; y: number }[];
    borderDash?: number[];
    borderWidth?: number;
  }[] = methods.map((m, i) => ({
    label: m,
    borderColor: t.palette[i % t.palette.length],
    backgroundColor: t.palette[i % t.palette.length],
    pointRadius: 3,
    pointHoverRadius: 5,
    data: byMethod[i].map(p => ({ x: densityX(p.sparsity), y: p.accuracy! * 100 })),
  }));
  const dense = s.before;
  if (dense) {
    datasets.push({
      label: 'dense',
      borderColor: t.fg,
      backgroundColor: t.fg,
      pointRadius: 0,
      pointHoverRadius: 0,
      data: [
        { x: 0, y: dense.accuracy * 100 },
        { x: xMax, y: dense.accuracy * 100 },
      ],
      borderDash: [4, 4],
      borderWidth: 1,
    });
  }
  const pointOf = (dataset: number, index: number): SweepPoint | undefined => byMethod[dataset]?.[index];
  draw('chart-accuracy', {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: {
          type: 'linear',
          min: 0,
          max: xMax,
          title: { display: true, text: 'sparsity (log scale of density 1 − s)' },
          afterBuildTicks: axis => {
            axis.ticks = ticks.map(v => ({ value: densityX(v) }));
          },
          ticks: { callback: v => sparsityLabel(sparsityAtX(Number(v))), autoSkip: false, maxRotation: 0 },
        },
        y: { title: { display: true, text: 'accuracy %' } },
      },
      plugins: {
        tooltip: {
          filter: item => item.dataset.label !== 'dense',
          callbacks: {
            title: items => {
              const p = items[0] && pointOf(items[0].datasetIndex, items[0].dataIndex);
              return p ? `${p.method} at ${(p.sparsity * 100).toFixed(2)}% sparsity` : '';
            },
            label: item => {
              const p = pointOf(item.datasetIndex, item.dataIndex);
              if (!p) return '';
              const lines = [
                `accuracy ${(p.accuracy! * 100).toFixed(2)}%${dense ? ` (${((p.accuracy! - dense.accuracy) * 100).toFixed(2)} vs dense)` : ''}`,
              ];
              if (p.loss !== undefined) lines.push(`loss ${p.loss.toFixed(4)}`);
              if (p.achieved !== undefined) lines.push(`achieved ${(p.achieved * 100).toFixed(2)}%`);
              return lines;
            },
          },
        },
      },
    },
  });
}
