// The number formats of the panel's table and charts (the table's rows: layerRows.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count, pct, sci } from '../../webview/format';

test('number formats: percent, thousands, three significant digits or scientific', () => {
  assert.equal(pct(0.9163), '91.6%');
  assert.equal(pct(0.94651, 2), '94.65%');
  assert.equal(pct(undefined), '–');
  assert.equal(pct(NaN), '–');
  assert.equal(count(1234567), '1,234,567');
  assert.equal(count(undefined), '–');
  assert.deepEqual([0, 0.5, 123.456, 1e4, 1.5e-3, -2e-9, null, NaN].map(sci), [
    '0',
    '0.5',
    '123',
    '1.00e+4',
    '1.50e-3',
    '-2.00e-9',
    '–',
    '–',
  ]);
});
