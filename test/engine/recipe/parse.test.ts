import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecipe, rangeOfPath, loadRecipe } from '../../../src/engine/recipe';
import { WoodFisherError } from '../../../src/engine/types';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const validYaml = `# a comment
model: ./model.json
data:
  inputs: ../data/calib-x.npy
  labels: ../data/calib-y.npy
samples: 1000
method: woodfisher
damp: 1e-7
blockSize: 500
sparsity: 0.9
scope: layer
update: joint
recompute: 4
recomputeSchedule: polynomial
inverseForm: dual
layers:
  fc1: { sparsity: 0.5 }
  fc3:
    exclude: true
eval: ../data/test.npz
backend: wasm
maxMemory: 4GB
shuffle: true
seed: 7
output: ./pruned
`;

test('a valid YAML recipe parses with no diagnostics and typed values', () => {
  const { recipe, diagnostics } = parseRecipe(validYaml, 'woodfisher.yaml');
  assert.deepEqual(diagnostics, []);
  assert.equal(recipe.damp, 1e-7);
  assert.equal(recipe.sparsity, 0.9);
  assert.deepEqual(recipe.layers, { fc1: { sparsity: 0.5 }, fc3: { exclude: true } });
  assert.equal(recipe.eval, '../data/test.npz');
});

test('a valid JSON recipe parses with no diagnostics', () => {
  const text = JSON.stringify(
    { $schema: '../schemas/recipe.schema.json', model: 'm.json', sparsity: 0.5, maxMemory: 1e9, layers: { a: { exclude: true } } },
    null,
    2,
  );
  const { recipe, diagnostics } = parseRecipe(text, 'x.prune.json');
  assert.deepEqual(diagnostics, []);
  assert.equal(recipe.maxMemory, 1e9);
});

test('an unknown key is reported at its key, with a suggestion', () => {
  const text = 'model: m.json\ndata:\n  inputs: x.npy\n  lables: y.npy\n';
  const { diagnostics } = parseRecipe(text, 'r.yaml');
  assert.equal(diagnostics.length, 1);
  const d = diagnostics[0];
  assert.equal(d.path, '/data/lables');
  assert.deepEqual([d.line, d.column, d.endLine, d.endColumn], [4, 3, 4, 9]);
  assert.match(d.message, /unknown key "lables".*did you mean "labels"/);
});

test('an unknown key in a JSON recipe gets JSON line and column', () => {
  const text = '{\n  "model": "m.json",\n    "sparsty": 0.9\n}';
  const [d] = parseRecipe(text, 'r.json').diagnostics;
  assert.deepEqual([d.line, d.column, d.endColumn], [3, 5, 14]);
  assert.match(d.message, /did you mean "sparsity"/);
});

test('wrong types, enums and out-of-range values point at the value', () => {
  const text = 'sparsity: 1.5\nmethod: woodfsher\nsamples: many\nlayers:\n  fc2:\n    sparsity: -0.1\n';
  const ds = parseRecipe(text, 'r.yml').diagnostics;
  const by = Object.fromEntries(ds.map(d => [d.path, d]));
  assert.match(by['/sparsity'].message, /sparsity must be in \[0, 1\), got 1.5/);
  assert.deepEqual([by['/sparsity'].line, by['/sparsity'].column], [1, 11]);
  assert.match(by['/method'].message, /one of .*did you mean "woodfisher"/);
  assert.match(by['/samples'].message, /must be an integer, not the string "many"/);
  assert.deepEqual([by['/samples'].line, by['/samples'].column, by['/samples'].endColumn], [3, 10, 14]);
  assert.equal(by['/layers/fc2/sparsity'].line, 6);
  assert.equal(ds.length, 4);
});

test('maxMemory accepts sizes and bytes, rejects nonsense', () => {
  assert.deepEqual(parseRecipe('maxMemory: 512MiB', 'r.yaml').diagnostics, []);
  assert.deepEqual(parseRecipe('maxMemory: 1000000', 'r.yaml').diagnostics, []);
  const [d] = parseRecipe('maxMemory: lots', 'r.yaml').diagnostics;
  assert.match(d.message, /maxMemory must be a number of bytes or a size like "4GB"/);
});

test('a missing required key is reported at its parent key', () => {
  const [d] = parseRecipe('model: m.json\neval:\n  labels: y.npy\n', 'r.yaml').diagnostics;
  assert.match(d.message, /eval is missing "inputs"/);
  assert.deepEqual([d.line, d.column, d.endColumn], [2, 1, 5]);
});

test('syntax errors are diagnostics with positions, for YAML and JSON', () => {
  const [j] = parseRecipe('{\n  "a": 1,,\n}', 'r.json').diagnostics;
  assert.match(j.message, /JSON syntax/);
  assert.deepEqual([j.line, j.column], [2, 10]);
  const [y] = parseRecipe('model: a\nmodel: b\n', 'r.yaml').diagnostics;
  assert.match(y.message, /YAML syntax/);
  assert.equal(y.line, 2);
  const [s] = parseRecipe('- a\n- b\n', 'r.yaml').diagnostics;
  assert.match(s.message, /mapping/);
});

test('rangeOfPath finds keys, values, and falls back to the nearest parent', () => {
  const { source } = parseRecipe('layers:\n  "fc/1":\n    sparsity: 0.5\n', 'r.yaml');
  assert.deepEqual(rangeOfPath(source, '/layers/fc~11/sparsity'), { line: 3, column: 15, endLine: 3, endColumn: 18 });
  assert.deepEqual(rangeOfPath(source, '/layers/fc~11', 'key'), { line: 2, column: 3, endLine: 2, endColumn: 9 });
  assert.equal(rangeOfPath(source, '/layers/fc~11/exclude').line, 2);
});

test('loadRecipe throws a RECIPE error "file:line:col: message" for the first error', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wf-recipe-'));
  const file = path.join(dir, 'bad.prune.yaml');
  await fs.writeFile(file, 'model: m.json\nsparsity: 2\nscope: all\n');
  await assert.rejects(loadRecipe(file), (e: unknown) => {
    assert.ok(e instanceof WoodFisherError);
    assert.equal(e.code, 'RECIPE');
    assert.equal(e.message, `${file}:2:11: sparsity must be in [0, 1), got 2`);
    assert.deepEqual(e.detail, { file, line: 2, column: 11, path: '/sparsity' });
    return true;
  });
  await assert.rejects(loadRecipe(path.join(dir, 'missing.yaml')), /Recipe not found: .*missing\.yaml$/);
  await fs.rm(dir, { recursive: true });
});
