// Recipes the extension writes: they validate, and the saved answers read back as the same run (structured too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseRecipe, recipeToOptions } from '../../src/engine/recipe';
import { DEFAULT_OPTIONS, METHOD_NAMES, type PruneOptions } from '../../src/engine/types';
import { recipeYaml, starterRecipe } from '../../src/extension/recipeText';

const dir = path.resolve('/ws/mlpnet');

test('recipeYaml: the answers of "Prune with WoodFisher" saved as a recipe read back as the same options', () => {
  const runs: Partial<PruneOptions>[] = [
    { method: 'woodfisher', sparsity: 0.9, dataPath: '/ws/data/calib-x.npy', labelsPath: '/ws/data/calib-y.npy', damp: 1e-6, samples: 64 },
    { method: 'global-magnitude', sparsity: 0.5, pattern: '2:4', dataPath: '', scope: 'layer', update: 'none' },
    { method: 'woodtaylor', sparsity: 0.75, dataPath: path.join(dir, 'x y.npz'), blockSize: 128, damp: 'auto' },
  ];
  for (const run of runs) {
    const options: PruneOptions = {
      ...DEFAULT_OPTIONS,
      modelPath: path.join(dir, 'model.json'),
      outDir: path.join(dir, '..', 'out'),
      ...run,
    } as PruneOptions;
    const text = recipeYaml(options, dir);
    const { recipe, diagnostics } = parseRecipe(text, path.join(dir, 'woodfisher.yaml'));
    assert.deepEqual(diagnostics, [], text);
    const back = recipeToOptions(recipe, dir);
    for (const key of [
      'modelPath',
      'dataPath',
      'labelsPath',
      'method',
      'sparsity',
      'pattern',
      'samples',
      'damp',
      'blockSize',
      'scope',
      'update',
      'outDir',
    ] as const) {
      assert.deepEqual(back[key] || undefined, options[key] || undefined, `${key} survives the round trip:\n${text}`);
    }
  }
});

test("starterRecipe: a commented recipe that validates, names every method and the model's layers", () => {
  const text = starterRecipe(path.join(dir, 'model.json'), dir, ['fc1', 'fc2'], { inputs: '/ws/data/calib-x.npy' });
  const { recipe, diagnostics } = parseRecipe(text, path.join(dir, 'woodfisher.yaml'));
  assert.deepEqual(diagnostics, []);
  assert.equal(recipe.model, './model.json');
  assert.deepEqual(recipe.data, { inputs: '../data/calib-x.npy' });
  assert.match(text, new RegExp(`# ${METHOD_NAMES.join(' \\| ')}`));
  assert.match(text, /#\s+fc1: \{ sparsity: 0\.5 \}/);
  assert.match(text, /#\s+fc2: \{ exclude: true \}/);
  assert.equal(recipe.output, '../mlpnet-pruned', 'the output goes beside the model folder, never inside it');
});

test('a structured quick-pick run saves a recipe that runs the same structured pruning', () => {
  const dir = '/w/models/m';
  const o: PruneOptions = {
    ...DEFAULT_OPTIONS,
    modelPath: `${dir}/model.json`,
    dataPath: '/w/data/x.npy',
    labelsPath: '/w/data/y.npy',
    outDir: '/w/models/m-pruned',
    sparsity: 0.25,
    structure: 'neurons',
    scope: 'layer',
  };
  const parsed = parseRecipe(recipeYaml(o, dir), 'woodfisher.yaml');
  assert.deepEqual(parsed.diagnostics, []);
  const back = recipeToOptions(parsed.recipe, dir);
  assert.equal(back.structure, 'neurons');
  assert.equal(back.sparsity, 0.25);
  assert.equal(back.scope, 'layer');
  assert.equal(back.outDir, o.outDir);
  const plain = parseRecipe(recipeYaml({ ...o, structure: undefined, scope: 'global' }, dir), 'woodfisher.yaml');
  assert.equal(plain.recipe.structure, undefined);
});
