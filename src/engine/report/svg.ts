// A standalone SVG line plot of accuracy against sparsity, one line per method. No dependencies.
import type { SweepPoint, SweepResult } from './sweep-result';
import { formatBytes } from './bytes';
import { densityTicks, densityX, sparsityAtX, sparsityLabel } from './densityAxis';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Round step for about n ticks over a span. */
function niceStep(span: number, n: number): number {
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

const f1 = (x: number) => x.toFixed(1);

interface PlotAxes {
  x: (p: SweepPoint) => number; // position of a point along x
  xTicks: number[]; // where the x ticks go
  xTick: (x: number) => string; // their labels
  xLabel: string;
  xLog?: boolean; // sizes: log scale (a 10× smaller model is one decade left)
  denseX?: number; // the dense model's own x: a marker instead of a dashed line
  pointTitle: (p: SweepPoint) => string;
  title: string;
}

/**
 * Accuracy against sparsity, one line per method, the dense accuracy as a dashed line. x is the log of density 1 − s
 * (densityAxis.ts): 80–99%, where the methods part ways, gets most of the width.
 */
export function sweepSvg(sweep: SweepResult, opts: { width?: number; height?: number; title?: string } = {}): string {
  const xs = sweep.points.map(p => p.sparsity);
  const lo = Math.min(...xs, 1),
    hi = Math.max(...xs, 0);
  const ticks = densityTicks(hi).filter(s => s >= lo - 1e-9);
  return linePlot(
    sweep,
    {
      x: p => densityX(p.sparsity),
      xTicks: (ticks.length ? ticks : [lo]).map(densityX),
      xTick: x => sparsityLabel(sparsityAtX(x)),
      xLabel: 'sparsity (log scale of density 1 − s)',
      pointTitle: p => `${p.method} at ${(p.sparsity * 100).toFixed(1)}%: ${(p.accuracy * 100).toFixed(2)}%`,
      title:
        opts.title ??
        `${sweep.dense?.reference === 'dense' ? 'Agreement with the dense model' : 'Accuracy'} vs sparsity${modelName(sweep)}`,
    },
    opts,
  );
}

/** Accuracy against download size (gzip bytes of model.json + shards), one line per method, the dense input as a marker. */
export function sizeSvg(sweep: SweepResult, opts: { width?: number; height?: number; title?: string } = {}): string {
  const sized = { ...sweep, points: sweep.points.filter(p => p.size) };
  const sizes = sized.points.map(p => p.size!.gzip).concat(sweep.inputSize ? [sweep.inputSize.gzip] : []);
  const lo = Math.min(...sizes),
    hi = Math.max(...sizes);
  const ticks = logTicks(lo, hi);
  return linePlot(
    sized,
    {
      x: p => p.size!.gzip,
      xTicks: ticks,
      xTick: formatBytes,
      xLabel: 'download size (gzip, model.json + shards)',
      xLog: true,
      denseX: sweep.inputSize?.gzip,
      pointTitle: p =>
        `${p.method} at ${(p.sparsity * 100).toFixed(1)}%: ${(p.accuracy * 100).toFixed(2)}%, ${formatBytes(p.size!.gzip)} gzip`,
      title: opts.title ?? `Accuracy vs download size${modelName(sweep)}`,
    },
    opts,
  );
}

const modelName = (sweep: SweepResult) =>
  `${sweep.gradual ? ` (gradual, ${sweep.gradual.epochs} epochs)` : ''} — ${sweep.model.split(/[\\/]/).slice(-2).join('/')}`;

/** 1-2-5 ticks between lo and hi (at least the two ends when the span is narrow). */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let d = 10 ** Math.floor(Math.log10(lo)); d <= hi * 1.0001; d *= 10)
    for (const f of [1, 2, 5]) if (d * f >= lo / 1.0001 && d * f <= hi * 1.0001) out.push(d * f);
  return out.length >= 2 ? out : [lo, hi];
}

function linePlot(sweep: SweepResult, ax: PlotAxes, opts: { width?: number; height?: number }): string {
  const W = opts.width ?? 640,
    H = opts.height ?? 400;
  const m = { left: 60, right: 20, top: 40, bottom: 50 };
  const pw = W - m.left - m.right,
    ph = H - m.top - m.bottom;
  const t = (v: number) => (ax.xLog ? Math.log10(v) : v);
  const xs = sweep.points.map(p => t(ax.x(p))).concat(ax.denseX !== undefined ? [t(ax.denseX)] : []);
  const accs = sweep.points.map(p => p.accuracy * 100).concat(sweep.dense ? [sweep.dense.accuracy * 100] : []);
  let x0 = Math.min(...xs, ax.xLog ? Infinity : 1),
    x1 = Math.max(...xs, ax.xLog ? -Infinity : 0);
  if (!(x1 > x0)) {
    x0 -= 0.05;
    x1 += 0.05;
    if (!ax.xLog) {
      x0 = Math.max(0, x0);
      x1 = Math.min(1, x1);
    }
  }
  const pad = (x1 - x0) * 0.04; // keep the end points off the axes
  x0 -= pad;
  x1 += pad;
  const ystep = niceStep(Math.max(1, Math.max(...accs, 0) - Math.min(...accs, 100)), 5);
  let y0 = accs.length ? Math.floor(Math.min(...accs) / ystep) * ystep : 0;
  let y1 = accs.length ? Math.min(100, Math.ceil(Math.max(...accs) / ystep) * ystep) : 100;
  if (!(y1 > y0)) {
    y0 = Math.max(0, y0 - ystep);
    y1 = y0 + 2 * ystep;
  }
  const X = (v: number) => m.left + ((t(v) - x0) / (x1 - x0)) * pw;
  const Y = (a: number) => m.top + ph - ((a - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(ax.title)}</text>`);
  // axes, grid and ticks
  out.push(`<g stroke="#999" stroke-width="1">`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}"/>`);
  out.push(`</g>`);
  out.push(`<g fill="#333">`);
  for (let a = y0; a <= y1 + 1e-9; a += ystep) {
    out.push(`<line x1="${m.left}" y1="${f1(Y(a))}" x2="${m.left + pw}" y2="${f1(Y(a))}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${f1(Y(a) + 4)}" text-anchor="end">${+a.toFixed(6)}</text>`);
  }
  for (const s of ax.xTicks) {
    out.push(`<line x1="${f1(X(s))}" y1="${m.top + ph}" x2="${f1(X(s))}" y2="${m.top + ph + 5}" stroke="#999"/>`);
    out.push(`<text x="${f1(X(s))}" y="${m.top + ph + 18}" text-anchor="middle">${escapeXml(ax.xTick(s))}</text>`);
  }
  out.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(ax.xLabel)}</text>`);
  out.push(
    `<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">${sweep.dense?.reference === 'dense' ? 'top-1 agreement with the dense model (%)' : 'test accuracy (%)'}</text>`,
  );
  out.push(`</g>`);
  // dense reference: a dashed line, or a marker where the dense model has its own x (its size)
  if (sweep.dense) {
    const y = f1(Y(sweep.dense.accuracy * 100));
    const label = `dense ${(sweep.dense.accuracy * 100).toFixed(2)}%`;
    if (ax.denseX !== undefined) {
      out.push(
        `<g class="dense"><rect x="${f1(X(ax.denseX) - 4)}" y="${f1(Y(sweep.dense.accuracy * 100) - 4)}" width="8" height="8" fill="#666"><title>${escapeXml(`${label}, ${ax.xTick(ax.denseX)}`)}</title></rect>`,
      );
      out.push(
        `<text x="${f1(X(ax.denseX) - 8)}" y="${f1(Y(sweep.dense.accuracy * 100) - 8)}" text-anchor="end" fill="#666">${escapeXml(label)}</text></g>`,
      );
    } else {
      out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#666" stroke-dasharray="4 4"/>`);
      out.push(`<text x="${m.left + pw - 4}" y="${f1(Y(sweep.dense.accuracy * 100) - 5)}" text-anchor="end" fill="#666">${label}</text>`);
    }
  }
  // one line per method
  const methods = [...new Set(sweep.points.map(p => p.method))];
  methods.forEach((method, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = sweep.points.filter(p => p.method === method).sort((a, b) => a.sparsity - b.sparsity);
    out.push(`<g class="series" data-method="${escapeXml(method)}">`);
    out.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(p => `${f1(X(ax.x(p)))},${f1(Y(p.accuracy * 100))}`).join(' ')}"/>`,
    );
    for (const p of pts) {
      out.push(
        `<circle cx="${f1(X(ax.x(p)))}" cy="${f1(Y(p.accuracy * 100))}" r="3" fill="${c}"><title>${escapeXml(ax.pointTitle(p))}</title></circle>`,
      );
    }
    out.push(`</g>`);
  });
  // legend, bottom left (accuracy falls at high sparsity, so the lower left is usually empty)
  out.push(`<g class="legend">`);
  methods.forEach((method, i) => {
    const y = m.top + ph - 12 - (methods.length - 1 - i) * 18;
    out.push(`<line x1="${m.left + 10}" y1="${y}" x2="${m.left + 30}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`);
    out.push(`<text x="${m.left + 36}" y="${y + 4}">${escapeXml(method)}</text>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
