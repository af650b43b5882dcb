// The panel's layer table as data (the DOM part only applies these rows) and the number formats it uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tableRows } from '../../webview/table';
import { count, pct, sci } from '../../webview/format';
import type { LayerResult, PanelSnapshot, PrunableLayer } from '../../src/protocol';

const planned = (name: string, size: number): PrunableLayer => ({ name, kind: 'Conv2D', weightName: `${name}/kernel`, shape: [size], torchShape: [size], size });
const result = (name: string, extra: Partial<LayerResult> = {}): LayerResult => ({
  name, kind: 'Dense', weights: 31360, pruned: 28714, sparsity: 28714 / 31360, threshold: 1.46e-8,
  saliency: { min: 8.84e-96, median: 4.9e-10, max: 0.0123 }, blocks: 32, form: 'dual', ...extra,
});
const snap = (s: Partial<PanelSnapshot>): PanelSnapshot => ({ modelPath: '/m', title: 'm', mode: 'prune', status: 'running', layers: [], log: [], ...s });

test('planned layers first, in plan order, pending ones with dashes; then results outside the plan', () => {
  const rows = tableRows(snap({ prunable: [planned('fc1', 31360), planned('fc2', 800)], layers: [result('extra'), result('fc1')] }));
  assert.deepEqual(rows.map(r => r.layer), ['fc1', 'fc2', 'extra']);
  assert.deepEqual(rows[0].cells, ['fc1', 'Dense', '31,360', '28,714', '91.6%', '1.46e-8', '8.84e-96', '4.90e-10', '0.0123']);
  assert.equal(rows[0].pending, false);
  assert.equal(rows[0].title, '32 Fisher block(s), dual form');
  assert.deepEqual(rows[1].cells, ['fc2', 'Conv2D', '800', '–', '–', '–', '–', '–', '–']);
  assert.equal(rows[1].pending, true);
  assert.equal(rows[1].title, '');
});

test('excluded layers say so; a layer with nothing pruned shows its NaN threshold as a dash', () => {
  const [row] = tableRows(snap({ layers: [result('fc3', { excluded: true, pruned: 0, sparsity: 0, threshold: NaN, form: 'none', blocks: 0 })] }));
  assert.equal(row.cells[4], 'excluded');
  assert.equal(row.cells[5], '–');
  assert.equal(row.title, '0 Fisher block(s), none form');
});

test('structured runs: the kind column says how many units were kept', () => {
  const [row] = tableRows(snap({ layers: [result('conv1', { kind: 'Conv2D', units: { kept: 4, of: 8 } } as Partial<LayerResult>)] }));
  assert.equal(row.cells[1], 'Conv2D · 4/8 units');
});

test('number formats: percent, thousands, three significant digits or scientific', () => {
  assert.equal(pct(0.9163), '91.6%');
  assert.equal(pct(0.94651, 2), '94.65%');
  assert.equal(pct(undefined), '–');
  assert.equal(pct(NaN), '–');
  assert.equal(count(1234567), '1,234,567');
  assert.equal(count(undefined), '–');
  assert.deepEqual([0, 0.5, 123.456, 1e4, 1.5e-3, -2e-9, null, NaN].map(sci), ['0', '0.5', '123', '1.00e+4', '1.50e-3', '-2.00e-9', '–', '–']);
});
