// Sensitivity → recipe: the override lands under layers:, comments and formatting kept, the result validates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { withLayerOverride } from '../../src/extension/recipeText';
import { parseRecipe } from '../../src/engine/recipe';

const example = path.join(__dirname, '..', '..', 'examples', 'mlpnet', 'woodfisher.yaml');

test('YAML: a layers: block is added to the example recipe; every comment survives; the recipe still validates', () => {
  const text = fs.readFileSync(example, 'utf8');
  const out = withLayerOverride(text, example, 'fc2', 0.75);
  assert.deepEqual(parse(out).layers, { fc2: { sparsity: 0.75 } });
  for (const comment of text.split('\n').filter(l => l.trim().startsWith('#'))) assert.ok(out.includes(comment.trim()), `lost: ${comment}`);
  const { diagnostics } = parseRecipe(out, example);
  assert.deepEqual(
    diagnostics.filter(d => d.severity === 'error'),
    [],
  );
  // a second override, and an excluded layer becomes a sparsity override
  const again = withLayerOverride(withLayerOverride(out, example, 'fc1', 0.9), example, 'fc3', 0.5);
  assert.deepEqual(parse(again).layers, { fc2: { sparsity: 0.75 }, fc1: { sparsity: 0.9 }, fc3: { sparsity: 0.5 } });
  const excluded = withLayerOverride('model: ./model.json\nlayers:\n  fc3: { exclude: true }  # keep dense\n', 'a.prune.yaml', 'fc3', 0.95);
  assert.deepEqual(parse(excluded).layers, { fc3: { sparsity: 0.95 } });
  assert.throws(() => withLayerOverride('model: [unclosed', 'woodfisher.yaml', 'fc1', 0.5), /YAML error/);
});

test('JSON: modify keeps the rest of the file byte for byte around the new entry', () => {
  const text = '{\n  "model": "./model.json",\n  "sparsity": 0.9,\n  "layers": { "fc1": { "exclude": true } }\n}\n';
  const out = withLayerOverride(text, 'woodfisher.json', 'fc1', 0.8);
  assert.deepEqual(JSON.parse(out), { model: './model.json', sparsity: 0.9, layers: { fc1: { sparsity: 0.8 } } });
  assert.ok(out.startsWith('{\n  "model": "./model.json",\n  "sparsity": 0.9,'));
  const fresh = withLayerOverride('{"model": "./model.json"}', 'x.prune.json', 'conv1', 0.5);
  assert.deepEqual(JSON.parse(fresh).layers, { conv1: { sparsity: 0.5 } });
});
