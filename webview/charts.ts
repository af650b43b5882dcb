// Chart.js canvases: per-layer sparsity, saliency histogram (log10 axis), accuracy (before/after, or vs
// sparsity per method in a sweep). Colours come from the theme's --vscode-* variables.
import type { ChartConfiguration } from 'chart.js';
import { evalTerms, formatBytes, type PanelSnapshot } from '../src/protocol';
import { sci } from './format';
import { draw, theme } from './chartKit';
import { renderSparsityBars } from './sparsityBars';
import { renderSweepChart } from './sweepChart';

export function renderCharts(s: PanelSnapshot): void {
  const t = theme();
  const layers = s.layers;
  renderSparsityBars(s, t);

  // Saliency histogram: one stepped line per layer over log10(saliency) bin centres; counts on a log axis.
  const withHist = layers.filter(l => l.histogram && l.histogram.counts.length);
  draw('chart-saliency', {
    type: 'line',
    data: {
      datasets: withHist.map((l, i) => ({
        label: l.name,
        borderColor: t.palette[i % t.palette.length],
        backgroundColor: t.palette[i % t.palette.length],
        stepped: 'middle' as const,
        pointRadius: 0,
        borderWidth: 1.5,
        data: l.histogram!.counts.map((c, j) => ({ x: (l.histogram!.edges[j] + l.histogram!.edges[j + 1]) / 2, y: c > 0 ? c : null })),
      })),
    },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'saliency (log10)' }, ticks: { callback: v => `1e${Number(v).toFixed(0)}` } },
        y: { type: 'logarithmic', title: { display: true, text: 'weights' } },
      },
      // one legend entry per layer is unreadable past a dozen layers: the tooltip names the layer instead
      plugins: {
        legend: { display: withHist.length <= 12 },
        tooltip: { callbacks: { title: items => `saliency ≈ ${sci(10 ** (items[0]?.parsed.x ?? 0))}` } },
      },
    },
  });

  const caption = document.getElementById('accuracy-caption');
  const figure = document.getElementById('accuracy-figure');
  if (s.mode === 'sweep') {
    if (caption)
      caption.textContent =
        s.sweepEpochs !== undefined ? `Accuracy vs sparsity, gradual (${s.sweepEpochs} epochs each)` : 'Accuracy vs sparsity';
    renderSweepChart(s, t);
    figure?.removeAttribute('hidden');
    renderSizeChart(s, t);
  } else {
    document.getElementById('size-figure')?.setAttribute('hidden', '');
    const terms = evalTerms(s.before);
    if (caption)
      caption.textContent = `${terms.score === 'accuracy' ? 'Accuracy and loss' : 'Agreement and KL'}, before and after${terms.against ? ` (${terms.against})` : ''}`;
    const has = !!(s.before || s.after);
    const bars: ChartConfiguration<'bar'> = {
      type: 'bar',
      data: {
        labels: [`${terms.score} %`, terms.loss],
        // Accuracy (left axis, %) and loss (right axis) have different scales: one pair of bars each.
        datasets: [
          { label: 'before', backgroundColor: t.palette[0], yAxisID: 'y', data: [s.before ? s.before.accuracy * 100 : null, null] },
          { label: 'after', backgroundColor: t.palette[1], yAxisID: 'y', data: [s.after ? s.after.accuracy * 100 : null, null] },
          { label: 'loss before', backgroundColor: t.palette[0], yAxisID: 'y1', data: [null, s.before?.loss ?? null] },
          { label: 'loss after', backgroundColor: t.palette[1], yAxisID: 'y1', data: [null, s.after?.loss ?? null] },
        ],
      },
      options: {
        skipNull: true,
        plugins: { legend: { labels: { filter: item => !item.text.startsWith('loss') } } },
        scales: {
          y: { beginAtZero: true, max: 100, position: 'left', title: { display: true, text: `${terms.score} %` } },
          y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: terms.loss } },
        },
      },
    };
    draw('chart-accuracy', bars as unknown as ChartConfiguration);
    figure?.toggleAttribute('hidden', !has);
  }
}

export { draw, theme, watchTheme } from './chartKit';

/** Sweep: accuracy against the gzip size of each run's model.json + shards (log axis), the dense input as one point. */
function renderSizeChart(s: PanelSnapshot, t: ReturnType<typeof theme>): void {
  const figure = document.getElementById('size-figure');
  const sized = (s.sweep ?? []).filter(p => p.size && p.accuracy !== undefined);
  figure?.toggleAttribute('hidden', sized.length === 0);
  if (sized.length === 0) return;
  const methods = [...new Set(sized.map(p => p.method))];
  const datasets = methods.map(
    (m, i): { label: string; borderColor: string; backgroundColor: string; data: { x: number; y: number; sparsity: number }[] } => ({
      label: m,
      borderColor: t.palette[i % t.palette.length],
      backgroundColor: t.palette[i % t.palette.length],
      data: sized
        .filter(p => p.method === m)
        .sort((a, b) => a.sparsity - b.sparsity)
        .map(p => ({ x: p.size!.gzip, y: p.accuracy! * 100, sparsity: p.sparsity })),
    }),
  );
  if (s.before && s.inputSize) {
    datasets.push({
      label: 'dense input',
      borderColor: t.fg,
      backgroundColor: t.fg,
      data: [{ x: s.inputSize.gzip, y: s.before.accuracy * 100, sparsity: 0 }],
    });
  }
  draw('chart-size', {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, text: 'gzip size (model.json + shards)' },
          ticks: { callback: v => formatBytes(Number(v)) },
        },
        y: { title: { display: true, text: 'accuracy %' } },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: item => {
              const p = item.raw as { x: number; y: number; sparsity: number };
              return `${item.dataset.label}: ${p.y.toFixed(2)}% at ${formatBytes(p.x)}${p.sparsity ? ` (${(p.sparsity * 100).toFixed(1)}% sparse)` : ''}`;
            },
          },
        },
      },
    },
  });
}
