// The model outline (exact offsets on one-line and formatted files, weights per layer) and the pretty-printer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flatLayers, outlineModel, prettyJson } from '../../src/extension/modelOutline';

const examples = path.join(__dirname, '..', '..', 'examples');
const read = (name: string) => fs.readFileSync(path.join(examples, name, 'model.json'), 'utf8');

/** Σ sizes of the manifest's `<layer>/…` tensors, straight from the parsed JSON. */
function manifestParams(model: { weightsManifest: { weights: { name: string; shape: number[] }[] }[] }, layer: string): number {
  return model.weightsManifest
    .flatMap(g => g.weights)
    .filter(w => w.name.split('/').at(-2) === layer)
    .reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0);
}

for (const example of ['mlpnet', 'cnn']) {
  test(`${example}: every layer in topology order, exact name and object ranges, weights from the manifest — one line or formatted`, () => {
    const oneLine = read(example);
    const model = JSON.parse(oneLine);
    const expected = model.modelTopology.config.layers.map((l: { class_name: string; config: { name: string } }) => [
      l.config.name,
      l.class_name,
    ]);
    for (const text of [oneLine, JSON.stringify(model, null, 2), prettyJson(model)]) {
      const o = outlineModel(text)!;
      assert.equal(o.name, model.modelTopology.config.name);
      const layers = flatLayers(o);
      assert.deepEqual(
        layers.map(l => [l.name, l.className]),
        expected,
      );
      for (const l of layers) {
        assert.deepEqual(JSON.parse(`{${text.slice(l.nameOffset, l.nameOffset + l.nameLength)}}`), { name: l.name });
        const obj = JSON.parse(text.slice(l.offset, l.offset + l.length));
        assert.equal(obj.config.name, l.name);
        assert.equal(l.params, manifestParams(model, l.name));
        assert.equal(l.prunable, ['Dense', 'Conv2D'].includes(l.className));
      }
      assert.equal(
        o.params,
        layers.reduce((a, l) => a + l.params, 0),
      );
    }
    assert.equal(
      flatLayers(outlineModel(oneLine)).length > 0 && oneLine.split('\n').filter(Boolean).length,
      1,
      'the example is a one-line file',
    );
  });
}

test('functional model with a nested Sequential: the nested model is a parent, its layers are children; InputLayer is left out', () => {
  const inner = {
    class_name: 'Sequential',
    config: {
      name: 'head',
      layers: [
        { class_name: 'Dense', config: { name: 'h1', units: 4 } },
        { class_name: 'Dense', config: { name: 'h2', units: 2 } },
      ],
    },
  };
  const model = {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Model',
      config: {
        name: 'net',
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 3] }, inbound_nodes: [] },
          { class_name: 'Conv1D', name: 'c', config: { name: 'c' }, inbound_nodes: [[['in', 0, 0, {}]]] },
          inner,
        ],
      },
    },
    weightsManifest: [
      {
        paths: ['w.bin'],
        weights: [
          { name: 'c/kernel', shape: [3, 1, 2], dtype: 'float32' },
          { name: 'head/h1/kernel', shape: [2, 4], dtype: 'float32' },
          { name: 'h2/kernel', shape: [4, 2], dtype: 'float32' },
          { name: 'h2/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  };
  const o = outlineModel(JSON.stringify(model))!;
  assert.equal(o.name, 'net');
  assert.deepEqual(
    o.layers.map(l => [l.name, l.children.map(c => c.name)]),
    [
      ['c', []],
      ['head', ['h1', 'h2']],
    ],
  );
  assert.deepEqual(
    flatLayers(o).map(l => [l.name, l.params, l.prunable]),
    [
      ['c', 6, true],
      ['h1', 8, true],
      ['h2', 10, true],
    ],
  );
  assert.equal(o.layers[1].params, 18);
  assert.equal(o.params, 24);
});

test('no modelTopology, or not JSON: no outline (and no throw)', () => {
  assert.equal(outlineModel('{"format":"graph-model","modelTopology":[]}'), undefined);
  assert.equal(outlineModel('{"a":1}'), undefined);
  assert.equal(outlineModel('not json at all'), undefined);
  assert.equal(outlineModel(''), undefined);
});

test('prettyJson round-trips random JSON and keeps short scalar arrays/objects on one line', () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const gen = (depth: number): unknown => {
    const r = rnd();
    if (depth > 4 || r < 0.3)
      return [null, true, false, Math.round(rnd() * 1e6) / 1e3 - 500, `s${Math.floor(rnd() * 1e4)}"\\\n`][Math.floor(rnd() * 5)];
    if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 7) }, () => gen(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 6) }, (_, i) => [`k${i}${Math.floor(rnd() * 100)}`, gen(depth + 1)]));
  };
  for (let i = 0; i < 200; i++) {
    const v = gen(0);
    const text = prettyJson(v, 60);
    assert.deepEqual(JSON.parse(text), v);
  }
  const text = prettyJson({ shape: [3, 3, 1, 8], cfg: { a: 1, b: 'x' }, nested: { deep: { more: [1, { x: 1 }] } } });
  assert.match(text, /^ {2}"shape": \[3, 3, 1, 8\],$/m);
  assert.match(text, /^ {2}"cfg": \{"a": 1, "b": "x"\},$/m);
  assert.match(text, /^ {4}"deep": \{$/m);
});
