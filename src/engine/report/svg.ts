// A standalone SVG line plot of accuracy against sparsity, one line per method. No dependencies.
import type { SweepResult } from './sweep-result';
import { densityTicks, densityX, sparsityLabel } from './densityAxis';

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

export function sweepSvg(sweep: SweepResult, opts: { width?: number; height?: number; title?: string } = {}): string {
  const W = opts.width ?? 640, H = opts.height ?? 400;
  const m = { left: 60, right: 20, top: 40, bottom: 50 };
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const xs = sweep.points.map(p => p.sparsity);
  const accs = sweep.points.map(p => p.accuracy * 100).concat(sweep.dense ? [sweep.dense.accuracy * 100] : []);
  // x: log of density 1 − s (densityAxis.ts), from 0% to the largest sparsity plotted
  const ticks = densityTicks(Math.max(...xs, 0.9));
  let x0 = 0, x1 = densityX(Math.max(...xs, ticks[ticks.length - 1]));
  const pad = (x1 - x0) * 0.04; // keep the end points off the axes
  x0 -= pad; x1 += pad;
  const ystep = niceStep(Math.max(1, Math.max(...accs, 0) - Math.min(...accs, 100)), 5);
  let y0 = accs.length ? Math.floor(Math.min(...accs) / ystep) * ystep : 0;
  let y1 = accs.length ? Math.min(100, Math.ceil(Math.max(...accs) / ystep) * ystep) : 100;
  if (!(y1 > y0)) { y0 = Math.max(0, y0 - ystep); y1 = y0 + 2 * ystep; }
  const X = (s: number) => m.left + ((densityX(s) - x0) / (x1 - x0)) * pw;
  const Y = (a: number) => m.top + ph - ((a - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(opts.title ?? `Accuracy vs sparsity${sweep.gradual ? ` (gradual, ${sweep.gradual.epochs} epochs)` : ''} — ${sweep.model.split(/[\\/]/).slice(-2).join('/')}`)}</text>`);
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
  for (const s of ticks) {
    out.push(`<line x1="${f1(X(s))}" y1="${m.top}" x2="${f1(X(s))}" y2="${m.top + ph + 5}" stroke="#eee"/>`);
    out.push(`<text x="${f1(X(s))}" y="${m.top + ph + 18}" text-anchor="middle">${sparsityLabel(s)}</text>`);
  }
  out.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">sparsity (log scale of density 1 − s)</text>`);
  out.push(`<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">test accuracy (%)</text>`);
  out.push(`</g>`);
  // dense reference
  if (sweep.dense) {
    const y = f1(Y(sweep.dense.accuracy * 100));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#666" stroke-dasharray="4 4"/>`);
    out.push(`<text x="${m.left + pw - 4}" y="${f1(Y(sweep.dense.accuracy * 100) - 5)}" text-anchor="end" fill="#666">dense ${(sweep.dense.accuracy * 100).toFixed(2)}%</text>`);
  }
  // one line per method
  const methods = [...new Set(sweep.points.map(p => p.method))];
  methods.forEach((method, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = sweep.points.filter(p => p.method === method).sort((a, b) => a.sparsity - b.sparsity);
    out.push(`<g class="series" data-method="${escapeXml(method)}">`);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(p => `${f1(X(p.sparsity))},${f1(Y(p.accuracy * 100))}`).join(' ')}"/>`);
    for (const p of pts) {
      out.push(`<circle cx="${f1(X(p.sparsity))}" cy="${f1(Y(p.accuracy * 100))}" r="3" fill="${c}"><title>${escapeXml(method)} at ${(p.sparsity * 100).toFixed(1)}%: ${(p.accuracy * 100).toFixed(2)}%</title></circle>`);
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
