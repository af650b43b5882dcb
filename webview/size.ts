// The download-size bar: model.json + shards before and after, gzip (as a server sends it), with the ratio.
// DOM contract: #size (hidden when unknown), #size-bar-in / #size-bar-out (widths ∝ gzip bytes), #size-ratio.
import type { PanelSnapshot } from '../src/protocol';
import { formatBytes } from '../src/engine/report/bytes';

/** "7.5× smaller", "same size", "1.3× larger". */
export function sizeRatio(before: number, after: number): string {
  if (after === before) return 'same size';
  return after < before ? `${(before / after).toFixed(1)}× smaller` : `${(after / before).toFixed(1)}× larger`;
}

export function renderSize(s: PanelSnapshot): void {
  const box = document.getElementById('size');
  if (!box) return;
  const size = s.mode === 'prune' ? s.size : undefined;
  box.hidden = !size;
  if (!size) return;
  const { input, output } = size;
  const top = Math.max(input.gzip, output.gzip, 1);
  const set = (id: string, text: string, width?: number) => {
    const el = document.getElementById(id);
    if (!el) return;
    if (width !== undefined) el.style.width = `${Math.max(0.5, (100 * width) / top).toFixed(1)}%`;
    else el.textContent = text;
  };
  set('size-bar-in', '', input.gzip);
  set('size-bar-out', '', output.gzip);
  set('size-in', `${formatBytes(input.gzip)} gzip · ${formatBytes(input.raw)} raw`);
  set('size-out', `${formatBytes(output.gzip)} gzip · ${formatBytes(output.raw)} raw${s.encodings ? ` · ${s.encodings}` : ''}`);
  const ratio = document.getElementById('size-ratio');
  if (ratio) {
    ratio.textContent = `download ${sizeRatio(input.gzip, output.gzip)}`;
    ratio.className = output.gzip > input.gzip ? 'size-larger' : '';
    ratio.title = `raw ${formatBytes(input.raw)} → ${formatBytes(output.raw)}, brotli ${formatBytes(input.brotli)} → ${formatBytes(output.brotli)}`;
  }
}
