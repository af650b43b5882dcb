// What every panel chart shares: Chart.js registration, theme colours from --vscode-* variables, draw-or-update by
// canvas id, an editor-coloured background (so saved PNGs read as in the panel), and redraw on theme change.
import {
  Chart,
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LogarithmicScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LogarithmicScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
);

const charts = new Map<string, Chart>();

export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function theme() {
  return {
    fg: cssVar('--vscode-foreground', '#ccc'),
    grid: cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', 'rgba(128,128,128,0.3)')),
    palette: [
      cssVar('--vscode-charts-blue', '#3794ff'),
      cssVar('--vscode-charts-orange', '#d18616'),
      cssVar('--vscode-charts-green', '#89d185'),
      cssVar('--vscode-charts-purple', '#b180d7'),
      cssVar('--vscode-charts-red', '#f14c4c'),
      cssVar('--vscode-charts-yellow', '#cca700'),
    ],
  };
}

/** The chart drawn on a canvas, if any (for export and clicks). */
export function chartOn(id: string): Chart | undefined {
  return charts.get(id);
}

export const BASE_OPTIONS = { animation: false, responsive: true, maintainAspectRatio: false } as const;

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
    existing.options = { ...BASE_OPTIONS, ...config.options };
    existing.update('none');
    return;
  }
  existing?.destroy();
  charts.set(
    id,
    new Chart(canvas, {
      ...config,
      plugins: [...(config.plugins ?? []), editorBackground],
      options: { ...BASE_OPTIONS, ...config.options },
    }),
  );
}

/** Paints the editor background under each chart, so a saved PNG reads the same as the panel in every theme. */
const editorBackground = {
  id: 'editorBackground',
  beforeDraw(chart: Chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = cssVar('--vscode-editor-background', '#ffffff');
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

/** Re-colours every chart when the theme changes (body class vscode-light / -dark / -high-contrast). */
export function watchTheme(redraw: () => void): void {
  new MutationObserver(() => {
    for (const c of charts.values()) c.destroy();
    charts.clear();
    redraw();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
