// The recipe's gradual: section: validated by the schema (with line and column), turned into GradualOptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseRecipe, recipeToGradualOptions, schemaAt } from '../../../src/engine/recipe';
import { DEFAULT_GRADUAL } from '../../../src/engine/types';

const text = `model: ./model.json
sparsity: 0.95
method: woodfisher
damp: 1e-6
eval: { inputs: ../data/test-x.npy, labels: ../data/test-y.npy }
gradual:
  train: ../data/train.npz
  epochs: 12
  pruneEnd: 6
  lr: 0.05
output: ./gradual-95
`;

test('a gradual: section gives GradualOptions: training data from it, defaults for the rest, flags win', () => {
  const { recipe, diagnostics } = parseRecipe(text, '/r/m/woodfisher.yaml');
  assert.deepEqual(diagnostics, []);
  const o = recipeToGradualOptions(recipe, '/r/m', { seed: 3 });
  assert.equal(o.dataPath, path.resolve('/r/data/train.npz'));
  assert.equal(o.labelsPath, undefined);
  assert.equal(o.epochs, 12);
  assert.equal(o.pruneEnd, 6);
  assert.equal(o.lr, 0.05);
  assert.equal(o.momentum, DEFAULT_GRADUAL.momentum);
  assert.equal(o.damp, 1e-6);
  assert.equal(o.seed, 3);
  assert.equal(o.outDir, path.resolve('/r/m/gradual-95'));
  assert.equal(recipeToGradualOptions(recipe, '/r/m', { lr: 0.2, dataPath: '/x.npy' }).lr, 0.2);
  // without gradual.train the recipe's data is the training data
  const noTrain = parseRecipe(
    text.replace('  train: ../data/train.npz\n', '') + 'data: { inputs: ../data/x.npy, labels: ../data/y.npy }\n',
    'r.yaml',
  ).recipe;
  const o2 = recipeToGradualOptions(noTrain, '/r/m');
  assert.equal(o2.dataPath, path.resolve('/r/data/x.npy'));
  assert.equal(o2.labelsPath, path.resolve('/r/data/y.npy'));
});

test('mistakes in the gradual: section are diagnostics at their place', () => {
  const bad = parseRecipe(text.replace('  lr: 0.05', '  lr: 0\n  optimiser: adam').replace('  epochs: 12\n', ''), 'r.yaml').diagnostics.map(
    d => `${d.line}: ${d.message}`,
  );
  assert.ok(
    bad.some(m => /^6: gradual is missing "epochs"/.test(m)),
    bad.join(' | '),
  );
  assert.ok(
    bad.some(m => /^9: gradual\.lr must be > 0/.test(m)),
    bad.join(' | '),
  );
  assert.ok(
    bad.some(m => /^10: unknown key "optimiser" in gradual.*did you mean "optimizer"/.test(m)),
    bad.join(' | '),
  );
});

test('completion and hovers read the gradual keys from the schema', () => {
  assert.deepEqual(schemaAt(['gradual', 'optimizer'])?.enum, ['sgd', 'adam']);
  assert.equal(schemaAt(['gradual', 'lr'])?.default, 0.1);
  assert.match(String(schemaAt(['gradual'])?.markdownDescription), /s_k = s_f \+ \(s_i − s_f\)\(1 − k\/K\)³/);
  assert.match(String(schemaAt(['gradual', 'train'])?.markdownDescription), /read batch by batch/);
});
