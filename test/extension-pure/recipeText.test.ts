// The recipe the editor saves from a quick-pick run must parse back to the same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recipeYaml } from '../../src/extension/recipeText';
import { parseRecipe, recipeToOptions } from '../../src/engine/recipe';
import { DEFAULT_OPTIONS, type PruneOptions } from '../../src/engine/types';

test('a structured quick-pick run saves a recipe that runs the same structured pruning', () => {
  const dir = '/w/models/m';
  const o: PruneOptions = { ...DEFAULT_OPTIONS, modelPath: `${dir}/model.json`, dataPath: '/w/data/x.npy', labelsPath: '/w/data/y.npy',
    outDir: '/w/models/m-pruned', sparsity: 0.25, structure: 'neurons', scope: 'layer' };
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
