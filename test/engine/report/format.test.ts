import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonRow, formatComparison, formatLayerTable, parseBytes, formatBytes, sweepSvg, sizeSvg } from '../../../src/engine/report';
import type { SweepResult } from '../../../src/engine/report';
import type { PruneReport } from '../../../src/engine/types';

function report(): PruneReport {
  const sal = { min: 1e-9, median: 3.5e-6, max: 0.25 };
  return {
    version: 1,
    model: '/m/model.json',
    output: '/o',
    backend: 'cpu',
    settings: {
      dataPath: '/d/x.npy',
      sparsity: 0.9,
      method: 'woodfisher',
      samples: 64,
      blockSize: 1000,
      damp: 1e-5,
      scope: 'global',
      update: 'independent',
      recompute: 1,
      recomputeSchedule: 'linear',
      inverseForm: 'auto',
      layers: {},
      backend: 'auto',
      shuffle: false,
      seed: 0,
      labels: 'given',
    },
    sparsity: { target: 0.9, achieved: 0.9, pruned: 900, weights: 1000 },
    layers: [
      { name: 'fc1', kind: 'Dense', weights: 800, pruned: 760, sparsity: 0.95, threshold: 1.2345e-5, saliency: sal, blocks: 1 },
      { name: 'fc2', kind: 'Dense', weights: 150, pruned: 140, sparsity: 140 / 150, threshold: 2e-5, saliency: sal, blocks: 1 },
      { name: 'fc3', kind: 'Dense', weights: 50, pruned: 0, sparsity: 0, threshold: NaN, saliency: sal, blocks: 0, excluded: true },
    ],
    before: { accuracy: 0.952, loss: 0.17, samples: 2000 },
    after: { accuracy: 0.9105, loss: 0.31, samples: 2000 },
    seconds: { total: 3.21 },
    memory: { items: [], totalBytes: 0, limitBytes: 1, fits: true },
    steps: 1,
  };
}

test('the layer table has aligned columns, every layer, the total and formatted numbers', () => {
  const t = formatLayerTable(report());
  const lines = t.split('\n');
  assert.match(lines[0], /^layer\s+kind\s+weights\s+pruned\s+sparsity\s+threshold\s+sal\. min\s+sal\. median\s+sal\. max$/);
  assert.match(lines[1], /^-+( +-+){8}$/);
  assert.equal(lines.length, 2 + 3 + 1);
  assert.match(lines[2], /^fc1\s+Dense\s+800\s+760\s+95\.0%\s+1\.23e-5\s+1\.00e-9\s+3\.50e-6\s+2\.50e-1$/);
  assert.match(lines[4], /^fc3 \(excluded\)/);
  assert.match(lines[4], /\s-\s/); // NaN threshold
  assert.match(lines[5], /^total\s+1,000\s+900\s+90\.0%$/);
  // right-aligned numeric columns: every row ends its "pruned" column at the same position
  const end = (l: string, s: string) => l.indexOf(s) + s.length;
  assert.equal(end(lines[2], '760'), end(lines[3], '140'));
  assert.equal(end(lines[0], 'pruned'), end(lines[2], '760'));
});

test('the comparison table shows accuracy before, after and the change', () => {
  const t = formatComparison([comparisonRow(report()), { method: 'global-magnitude', target: 0.9, achieved: 0.9 }]);
  const [h, , a, b] = t.split('\n');
  assert.match(h, /method\s+target\s+achieved\s+acc\. before\s+acc\. after\s+change/);
  assert.match(a, /^woodfisher\s+90\.0%\s+90\.00%\s+95\.20%\s+91\.05%\s+-4\.15\s+0\.3100\s+3\.2$/);
  assert.match(b, /^global-magnitude\s+90\.0%\s+90\.00%\s+-\s+-\s+-/);
});

test('parseBytes reads decimal and binary units and rejects nonsense', () => {
  assert.equal(parseBytes('4GB'), 4e9);
  assert.equal(parseBytes(' 1.5 mb '), 1.5e6);
  assert.equal(parseBytes('2GiB'), 2 * 2 ** 30);
  assert.equal(parseBytes('123'), 123);
  assert.equal(parseBytes(4096), 4096);
  assert.throws(() => parseBytes('4 lots'), /invalid memory size "4 lots"/);
  assert.throws(() => parseBytes('0GB'), /invalid memory size/);
  assert.throws(() => parseBytes(-1), /positive/);
  assert.equal(formatBytes(4.2e9), '4.20 GB');
  assert.equal(formatBytes(512), '512 B');
});

/** A tiny XML well-formedness check: balanced tags, quoted attributes, escaped text, one root. */
function assertWellFormedXml(xml: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(xml))) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      assert.ok(stack.length > 0 || m[5].trim() === '', 'text outside the root');
      assert.doesNotMatch(m[5].replace(/&(amp|lt|gt|quot|apos);/g, ''), /[&>]/, `unescaped text: ${m[5]}`);
      continue;
    }
    const [, close, name, , selfClose] = m;
    if (close) {
      assert.equal(stack.pop(), name, `mismatched </${name}>`);
      continue;
    }
    if (stack.length === 0) roots++;
    names.push(name);
    if (!selfClose) stack.push(name);
  }
  assert.equal(pos, xml.length, `not XML at offset ${pos}: ${xml.slice(pos, pos + 40)}`);
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(roots, 1);
  return names;
}

test('sweepSvg is a well-formed standalone SVG with one line per method, axes and a legend', () => {
  const sweep: SweepResult = {
    version: 1,
    model: '/x/mlpnet/model.json',
    dense: { accuracy: 0.952, loss: 0.2, samples: 2000 },
    methods: ['woodfisher', 'global-magnitude'],
    sparsities: [0.5, 0.9, 0.95],
    points: [0.5, 0.9, 0.95].flatMap((s, i) => [
      { method: 'woodfisher' as const, sparsity: s, achieved: s, accuracy: 0.95 - i * 0.1, loss: 1, output: '/o', seconds: 1 },
      { method: 'global-magnitude' as const, sparsity: s, achieved: s, accuracy: 0.95 - i * 0.2, loss: 1, output: '/o', seconds: 1 },
    ]),
  };
  const svg = sweepSvg(sweep, { title: 'A & B <test>' });
  const names = assertWellFormedXml(svg.trim());
  assert.equal(names[0], 'svg');
  assert.match(svg, /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(names.filter(n => n === 'polyline').length, 2);
  assert.equal(names.filter(n => n === 'circle').length, 6);
  assert.match(svg, /A &amp; B &lt;test&gt;/);
  assert.match(svg, />90%</);
  assert.match(svg, /dense 95\.20%/);
  const legend = svg.slice(svg.indexOf('class="legend"'));
  assert.match(legend, />woodfisher</);
  assert.match(legend, />global-magnitude</);
  // all coordinates are finite numbers
  assert.doesNotMatch(svg, /NaN|Infinity/);
  // higher accuracy plots higher (smaller y): woodfisher at 95% above global-magnitude at 95%
  const lastY = (method: string) => {
    const pts = new RegExp(`data-method="${method}">\\n<polyline[^>]*points="([^"]+)"`).exec(svg)![1].split(' ');
    return Number(pts[pts.length - 1].split(',')[1]);
  };
  assert.ok(lastY('woodfisher') < lastY('global-magnitude'));
});

test('sweepSvg copes with a single point', () => {
  const svg = sweepSvg({
    version: 1,
    model: 'm.json',
    methods: ['magnitude'],
    sparsities: [0.5],
    points: [{ method: 'magnitude', sparsity: 0.5, achieved: 0.5, accuracy: 0.9, loss: 0, output: '', seconds: 0 }],
  });
  assertWellFormedXml(svg.trim());
  assert.doesNotMatch(svg, /NaN|Infinity/);
});

test('sizeSvg plots accuracy against gzip size on a log axis: one point per sized run, the dense input as a marker at its own size', () => {
  const size = (gzip: number) => ({ raw: gzip * 2, gzip, brotli: gzip, files: 2 });
  const sweep: SweepResult = {
    version: 1,
    model: '/x/mlpnet/model.json',
    dense: { accuracy: 0.95, loss: 0.2, samples: 2000 },
    inputSize: size(120_000),
    methods: ['woodfisher'],
    sparsities: [0.5, 0.9, 0.98],
    points: [
      [0.5, 60_000, 0.95],
      [0.9, 16_000, 0.9],
      [0.98, 4_000, 0.5],
    ].map(([s, gzip, accuracy]) => ({
      method: 'woodfisher' as const,
      sparsity: s,
      achieved: s,
      accuracy,
      loss: 1,
      output: '/o',
      seconds: 1,
      size: size(gzip),
    })),
  };
  const svg = sizeSvg(sweep);
  const names = assertWellFormedXml(svg.trim());
  assert.equal(names.filter(n => n === 'circle').length, 3);
  assert.match(svg, /class="dense"/);
  assert.match(svg, /download size \(gzip/);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  // log axis: equal ratios, equal distances; smaller models plot further left
  const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map(m => Number(m[1]));
  const x = new Map(sweep.points.map((p, i) => [p.size!.gzip, xs[i]]));
  assert.ok(x.get(4_000)! < x.get(16_000)! && x.get(16_000)! < x.get(60_000)!);
  const perDecade = (x.get(60_000)! - x.get(4_000)!) / Math.log10(60_000 / 4_000);
  assert.ok(Math.abs(x.get(16_000)! - x.get(4_000)! - perDecade * Math.log10(4)) < 0.2, 'positions follow log10(size)');
  const dense = Number(/class="dense"><rect x="([\d.]+)"/.exec(svg)![1]) + 4;
  assert.ok(Math.abs(dense - (x.get(60_000)! + perDecade * Math.log10(2))) < 0.2, 'the dense input sits at its own size');
});
