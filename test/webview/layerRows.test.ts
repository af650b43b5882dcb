// Sorting, filtering and flags of the panel's layer table, on random layer results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLUMNS, filterRows, isAbove, isCollapsed, rowsOf, sortRows, sortValue, type Row } from '../../webview/layerRows';
import type { LayerResult, PanelSnapshot } from '../../src/protocol';

function snapshot(n: number, withResults: number): PanelSnapshot {
  const plan = Array.from({ length: n }, (_, i) => ({
    name: `block_${i}_${i % 3 ? 'project' : 'depthwise'}`,
    kind: (i % 3 ? 'Conv2D' : 'DepthwiseConv2D') as LayerResult['kind'],
    weightName: `l${i}/kernel`,
    shape: [1],
    torchShape: [1],
    size: 1 + Math.floor(Math.random() * 5000),
  }));
  const layers: LayerResult[] = plan.slice(0, withResults).map(p => {
    const sparsity = Math.random();
    const median = Math.random() < 0.1 ? NaN : Math.random();
    return {
      name: p.name,
      kind: p.kind,
      weights: p.size,
      pruned: Math.round(sparsity * p.size),
      sparsity,
      threshold: Math.random() < 0.1 ? NaN : Math.random() * 1e-3,
      saliency: { min: Math.random(), median, max: 1 + Math.random() },
      blocks: 1,
    };
  });
  return { modelPath: '/m/model.json', title: 'm', mode: 'prune', status: 'done', prunable: plan, layers, log: [] };
}

test('every column sorts both ways: values in order, missing values last, ties in model order, nothing lost', () => {
  for (let trial = 0; trial < 20; trial++) {
    const rows = rowsOf(snapshot(60, 45));
    assert.deepEqual(
      rows.map(r => r.order),
      rows.map((_, i) => i),
    );
    for (const column of COLUMNS) {
      for (const dir of ['asc', 'desc'] as const) {
        const sorted = sortRows(rows, column, dir);
        assert.equal(sorted.length, rows.length);
        assert.deepEqual(new Set(sorted.map(r => r.name)), new Set(rows.map(r => r.name)));
        const vals = sorted.map(r => sortValue(r, column));
        const firstMissing = vals.findIndex(v => v === undefined);
        if (firstMissing >= 0)
          assert.ok(
            vals.slice(firstMissing).every(v => v === undefined),
            `${column}: missing values last`,
          );
        const present = firstMissing < 0 ? sorted : sorted.slice(0, firstMissing);
        for (let i = 1; i < present.length; i++) {
          const a = sortValue(present[i - 1], column)!,
            b = sortValue(present[i], column)!;
          const c = typeof a === 'string' ? a.localeCompare(String(b)) : a - (b as number);
          assert.ok(dir === 'asc' ? c <= 0 : c >= 0, `${column} ${dir} at ${i}`);
          if (c === 0) assert.ok(present[i - 1].order < present[i].order, 'ties keep model order');
        }
      }
    }
    assert.deepEqual(
      sortRows(sortRows(rows, 'sparsity', 'desc'), undefined, 'asc').map(r => r.name),
      rows.map(r => r.name),
    );
  }
});

test('filter by name (all words, case-insensitive, or an exact kind); highlight above a sparsity; collapse flag', () => {
  const rows = rowsOf(snapshot(30, 30));
  assert.deepEqual(
    filterRows(rows, 'BLOCK_1').map(r => r.name),
    rows.filter(r => r.name.includes('block_1')).map(r => r.name),
  );
  assert.deepEqual(
    filterRows(rows, 'block_2 project').map(r => r.name),
    rows.filter(r => r.name.startsWith('block_2') && r.name.endsWith('project')).map(r => r.name),
  );
  assert.deepEqual(
    filterRows(rows, 'depthwiseconv2d').map(r => r.kind),
    rows.filter(r => r.kind === 'DepthwiseConv2D').map(r => r.kind),
  );
  assert.equal(filterRows(rows, '  ').length, rows.length);
  const row = (sparsity: number, excluded = false): Row => ({
    name: 'x',
    order: 0,
    kind: 'Dense',
    result: {
      name: 'x',
      kind: 'Dense',
      weights: 10,
      pruned: 0,
      sparsity,
      threshold: 0,
      saliency: { min: 0, median: 0, max: 0 },
      blocks: 1,
      excluded,
    },
  });
  assert.equal(isAbove(row(0.951), 95), true);
  assert.equal(isAbove(row(0.95), 95), false);
  assert.equal(isAbove(row(0.99), undefined), false);
  assert.equal(isAbove(row(0.99, true), 50), false);
  assert.equal(isAbove({ name: 'p', order: 0, kind: 'Dense' }, 0), false, 'pending rows are never highlighted');
  assert.equal(isCollapsed(row(0.995)), true);
  assert.equal(isCollapsed(row(0.9)), false);
});
