// Chart.js canvases: per-layer sparsity, saliency histogram (log10 axis), accuracy (before/after, or vs
// sparsity per method in a sweep). Colours come from the theme's --vscode-* variables.
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, LineController, LineElement,
  PointElement, Legend, Tooltip, type ChartConfiguration,
} from 'chart.js';
import type { PanelSnapshot } from '../src/protocol';
import { sci } from './format';
import { formatBytes } from '../src/engine/report/bytes';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, LineController, LineElement, PointElement, Legend, Tooltip);

const charts = new Map<string, Chart>();

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function theme() {
  return {
    fg: cssVar('--vscode-foreground', '#ccc'),
    grid: cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', 'rgba(128,128,128,0.3)')),
    palette: [
      cssVar('--vscode-charts-blue', '#3794ff'), cssVar('--vscode-charts-orange', '#d18616'),
      cssVar('--vscode-charts-green', '#89d185'), cssVar('--vscode-charts-purple', '#b180d7'),
      cssVar('--vscode-charts-red', '#f14c4c'), cssVar('--vscode-charts-yellow', '#cca700'),
    ],
  };
}

/** Creates or updates the chart on a canvas; redrawn from scratch when its type changes. */
export function draw(id: string, config: ChartConfiguration): void {
  const canvas = document.getElementById(id) as HTMLCanvasElement | null;
  if (!canvas) return;
  const t = theme();
  Chart.defaults.color = t.fg;
  Chart.defaults.borderColor = t.grid;
  Chart.defaults.font.family = cssVar('--vscode-font-family', 'sans-serif');
  const existing = charts.get(id);
  const sameType = existing && (existing.config as { type?: string }).type === config.type;
  if (existing && sameType) {
    existing.data = config.data;
    existing.options = config.options ?? {};
    existing.update('none');
    return;
  }
  existing?.destroy();
  charts.set(id, new Chart(canvas, { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } }));
}

export function renderCharts(s: PanelSnapshot): void {
  const t = theme();
  const layers = s.layers;
  draw('chart-sparsity', {
    type: 'bar',
    data: { labels: layers.map(l => l.name), datasets: [{ label: 'sparsity %', data: layers.map(l => l.sparsity * 100), backgroundColor: t.palette[0] }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100, title: { display: true, text: '% pruned' } } } },
  });

  // Saliency histogram: one stepped line per layer over log10(saliency) bin centres; counts on a log axis.
  const withHist = layers.filter(l => l.histogram && l.histogram.counts.length);
  draw('chart-saliency', {
    type: 'line',
    data: {
      datasets: withHist.map((l, i) => ({
        label: l.name, borderColor: t.palette[i % t.palette.length], backgroundColor: t.palette[i % t.palette.length],
        stepped: 'middle' as const, pointRadius: 0, borderWidth: 1.5,
        data: l.histogram!.counts.map((c, j) => ({ x: (l.histogram!.edges[j] + l.histogram!.edges[j + 1]) / 2, y: c > 0 ? c : null })),
      })),
    },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'saliency (log10)' }, ticks: { callback: v => `1e${Number(v).toFixed(0)}` } },
        y: { type: 'logarithmic', title: { display: true, text: 'weights' } },
      },
      plugins: { tooltip: { callbacks: { title: items => `saliency ≈ ${sci(10 ** (items[0]?.parsed.x ?? 0))}` } } },
    },
  });

  const caption = document.getElementById('accuracy-caption');
  const figure = document.getElementById('accuracy-figure');
  if (s.mode === 'sweep') {
    if (caption) caption.textContent = 'Accuracy vs sparsity';
    const methods: string[] = [...new Set((s.sweep ?? []).map(p => p.method))];
    const datasets = methods.map((m, i) => ({
      label: m, borderColor: t.palette[i % t.palette.length], backgroundColor: t.palette[i % t.palette.length],
      data: (s.sweep ?? []).filter(p => p.method === m && p.accuracy !== undefined)
        .sort((a, b) => a.sparsity - b.sparsity).map(p => ({ x: p.sparsity * 100, y: p.accuracy! * 100 })),
    }));
    if (s.before) {
      const xs = (s.sweep ?? []).map(p => p.sparsity * 100);
      const lo = Math.min(...xs, 0), hi = Math.max(...xs, 100);
      datasets.push({ label: 'dense', borderColor: t.fg, backgroundColor: t.fg, data: [{ x: lo, y: s.before.accuracy * 100 }, { x: hi, y: s.before.accuracy * 100 }] });
    }
    draw('chart-accuracy', {
      type: 'line', data: { datasets },
      options: { parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'sparsity %' } }, y: { title: { display: true, text: 'accuracy %' } } } },
    });
    figure?.removeAttribute('hidden');
    renderSizeChart(s, t);
  } else {
    document.getElementById('size-figure')?.setAttribute('hidden', '');
    if (caption) caption.textContent = 'Accuracy and loss, before and after';
    const has = !!(s.before || s.after);
    const bars: ChartConfiguration<'bar'> = {
      type: 'bar',
      data: {
        labels: ['accuracy %', 'loss'],
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
          y: { beginAtZero: true, max: 100, position: 'left', title: { display: true, text: 'accuracy %' } },
          y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'loss' } },
        },
      },
    };
    draw('chart-accuracy', bars as unknown as ChartConfiguration);
    figure?.toggleAttribute('hidden', !has);
  }
}

/** Sweep: accuracy against the gzip size of each run's model.json + shards (log axis), the dense input as one point. */
function renderSizeChart(s: PanelSnapshot, t: ReturnType<typeof theme>): void {
  const figure = document.getElementById('size-figure');
  const sized = (s.sweep ?? []).filter(p => p.size && p.accuracy !== undefined);
  figure?.toggleAttribute('hidden', sized.length === 0);
  if (sized.length === 0) return;
  const methods = [...new Set(sized.map(p => p.method))];
  const datasets = methods.map((m, i): { label: string; borderColor: string; backgroundColor: string; data: { x: number; y: number; sparsity: number }[] } => ({
    label: m, borderColor: t.palette[i % t.palette.length], backgroundColor: t.palette[i % t.palette.length],
    data: sized.filter(p => p.method === m).sort((a, b) => a.sparsity - b.sparsity).map(p => ({ x: p.size!.gzip, y: p.accuracy! * 100, sparsity: p.sparsity })),
  }));
  if (s.before && s.inputSize) {
    datasets.push({ label: 'dense input', borderColor: t.fg, backgroundColor: t.fg, data: [{ x: s.inputSize.gzip, y: s.before.accuracy * 100, sparsity: 0 }] });
  }
  draw('chart-size', {
    type: 'line', data: { datasets },
    options: {
      parsing: false,
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: 'gzip size (model.json + shards)' }, ticks: { callback: v => formatBytes(Number(v)) } },
        y: { title: { display: true, text: 'accuracy %' } },
      },
      plugins: { tooltip: { callbacks: { label: item => {
        const p = item.raw as { x: number; y: number; sparsity: number };
        return `${item.dataset.label}: ${p.y.toFixed(2)}% at ${formatBytes(p.x)}${p.sparsity ? ` (${(p.sparsity * 100).toFixed(1)}% sparse)` : ''}`;
      } } } },
    },
  });
}

/** Re-colours every chart when the theme changes (body class vscode-light / -dark / -high-contrast). */
export function watchTheme(redraw: () => void): void {
  new MutationObserver(() => {
    for (const c of charts.values()) c.destroy();
    charts.clear();
    redraw();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
