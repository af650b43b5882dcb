import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkRecipeAgainstModel, findRecipeForModel, parseRecipe, recipeToOptions } from '../../../src/engine/recipe';
import { DEFAULT_OPTIONS } from '../../../src/engine/types';

const dir = path.resolve('/tmp/recipes/mlp');

test('recipe paths are resolved relative to the recipe folder, defaults fill the rest', () => {
  const o = recipeToOptions(
    {
      model: './model.json',
      data: { inputs: '../data/x.npy', labels: '../data/y.npy' },
      eval: 'test.npz',
      sparsity: 0.9,
      output: 'out',
      maxMemory: '2GB',
    },
    dir,
  );
  assert.equal(o.modelPath, path.join(dir, 'model.json'));
  assert.equal(o.dataPath, path.resolve(dir, '../data/x.npy'));
  assert.equal(o.labelsPath, path.resolve(dir, '../data/y.npy'));
  assert.equal(o.evalPath, path.join(dir, 'test.npz'));
  assert.equal(o.evalLabelsPath, undefined);
  assert.equal(o.outDir, path.join(dir, 'out'));
  assert.equal(o.maxMemoryBytes, 2e9);
  assert.equal(o.samples, DEFAULT_OPTIONS.samples);
  assert.equal(o.damp, DEFAULT_OPTIONS.damp);
});

test('command-line flags override recipe values; undefined flags do not', () => {
  const recipe = {
    model: 'model.json',
    data: { inputs: 'x.npy', labels: 'y.npy' },
    sparsity: 0.9,
    samples: 1000,
    method: 'woodfisher' as const,
    output: 'out',
  };
  const o = recipeToOptions(recipe, dir, { sparsity: 0.5, samples: 64, method: 'global-magnitude', outDir: '/elsewhere', damp: undefined });
  assert.equal(o.sparsity, 0.5);
  assert.equal(o.samples, 64);
  assert.equal(o.method, 'global-magnitude');
  assert.equal(o.outDir, '/elsewhere');
  assert.equal(o.damp, DEFAULT_OPTIONS.damp);
  // new data on the command line drops the recipe's labels
  const o2 = recipeToOptions(recipe, dir, { dataPath: '/d/all.npz' });
  assert.equal(o2.dataPath, '/d/all.npz');
  assert.equal(o2.labelsPath, undefined);
});

test('missing model, data, sparsity or output are clear OPTIONS errors', () => {
  assert.throws(() => recipeToOptions({ sparsity: 0.5 }, dir), /no model/);
  assert.throws(
    () => recipeToOptions({ model: 'm.json', sparsity: 0.5, output: 'o' }, dir),
    /no calibration data: woodfisher needs --data/,
  );
  assert.throws(() => recipeToOptions({ model: 'm.json', data: 'x.npz', output: 'o' }, dir), /no target sparsity/);
  assert.throws(() => recipeToOptions({ model: 'm.json', data: 'x.npz', sparsity: 0.5 }, dir), /no output folder/);
  // magnitude needs no data
  assert.equal(recipeToOptions({ model: 'm.json', sparsity: 0.5, output: 'o', method: 'magnitude' }, dir).dataPath, '');
});

test('unknown layer names get a diagnostic at their key with a suggestion', () => {
  const { recipe, source } = parseRecipe('model: m.json\nlayers:\n  fc1: {exclude: true}\n  fc_2:\n    sparsity: 0.3\n', 'r.yaml');
  const ds = checkRecipeAgainstModel(recipe, ['fc1', 'fc2', 'fc3'], source);
  assert.equal(ds.length, 1);
  assert.equal(ds[0].path, '/layers/fc_2');
  assert.match(ds[0].message, /no prunable layer "fc_2" \(did you mean "fc2"\?\)/);
  assert.deepEqual([ds[0].line, ds[0].column, ds[0].endColumn], [4, 3, 7]);
  assert.equal(checkRecipeAgainstModel({ layers: { conv: {} } }, ['fc1'])[0].line, 0);
  assert.doesNotMatch(checkRecipeAgainstModel({ layers: { zzzzzz: {} } }, ['fc1'])[0].message, /did you mean/);
});

test('findRecipeForModel finds the recipe whose model resolves to the given model', async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'wf-find-'));
  await fs.writeFile(path.join(d, 'a.prune.yaml'), 'model: other.json\n');
  await fs.writeFile(path.join(d, 'b.prune.json'), '{"model": "./model.json"}');
  await fs.writeFile(path.join(d, 'notes.yaml'), 'model: ./model.json\n');
  assert.equal(await findRecipeForModel(path.join(d, 'model.json')), path.join(d, 'b.prune.json'));
  await fs.writeFile(path.join(d, 'woodfisher.yaml'), 'model: model.json\nsparsity: 3\n');
  assert.equal(await findRecipeForModel(path.join(d, 'model.json')), path.join(d, 'woodfisher.yaml'));
  assert.equal(await findRecipeForModel(path.join(d, 'other2.json')), undefined);
  await fs.rm(d, { recursive: true });
});

test('quantize and targetSize: from the recipe, flags win, a target size replaces the sparsity; quantize-only overrides may name any layer', () => {
  const base = { model: 'model.json', data: 'x.npy', output: 'out' };
  const o = recipeToOptions({ ...base, targetSize: '1.5MB', quantize: 'uint8', layers: { bn: { quantize: 'none' } } }, dir);
  assert.equal(o.targetSize, 1_500_000);
  assert.equal(o.quantize, 'uint8');
  assert.equal(o.sparsity, 0, 'the search starts from dense');
  assert.equal(
    recipeToOptions({ ...base, targetSize: '2MiB', sparsity: 0.9 }, dir, { sparsity: 0.8 }).targetSize,
    undefined,
    "--sparsity beats the recipe's target size",
  );
  assert.equal(
    recipeToOptions({ ...base, sparsity: 0.9 }, dir, { targetSize: 1000 }).sparsity,
    0,
    "--target-size beats the recipe's sparsity",
  );
  assert.throws(() => recipeToOptions({ ...base, targetSize: 1000, sparsity: 0.5 }, dir), /not both/);
  assert.throws(() => recipeToOptions({ ...base }, dir, { targetSize: 1000, sparsity: 0.5 }), /not both/);
  assert.throws(() => recipeToOptions({ ...base, targetSize: 'lots' }, dir), /invalid target size/);
  // quantize alone may name a BatchNorm layer; sparsity there is still an error
  assert.deepEqual(checkRecipeAgainstModel({ layers: { bn: { quantize: 'float16' } } }, ['fc1'], undefined, ['fc1', 'bn']), []);
  assert.equal(checkRecipeAgainstModel({ layers: { bn: { sparsity: 0.5 } } }, ['fc1'], undefined, ['fc1', 'bn']).length, 1);
});

test('structure neurons: the recipe keys validate; a FLOPs target stands in for the sparsity; a bad value is a diagnostic', () => {
  const text = 'model: m/model.json\ndata: x.npy\nstructure: neurons\ntargetFlops: 0.5\nminKeep: 0.2\noutput: out\n';
  const parsed = parseRecipe(text, 'woodfisher.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  const o = recipeToOptions(parsed.recipe, dir);
  assert.equal(o.structure, 'neurons');
  assert.equal(o.targetFlops, 0.5);
  assert.equal(o.minKeep, 0.2);
  assert.equal(o.sparsity, 0);
  const bad = parseRecipe('structure: filters\n', 'woodfisher.yaml').diagnostics;
  assert.equal(bad.length, 1);
  assert.match(bad[0].message, /structure must be one of weights, neurons/);
  assert.throws(() => recipeToOptions({ model: 'm.json', data: 'x.npy', structure: 'neurons', output: 'o' }, dir), /no target sparsity/);
});
