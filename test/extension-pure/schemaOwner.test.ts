// A recipe's schema errors show once: for every recipe file name exactly one of VS Code's JSON service (package.json's
// jsonValidation) and this extension's diagnostics reports them, and both check the same schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRecipe, RECIPE_FILE } from '../../src/engine/recipe';
import { recipeSchema } from '../../src/engine/recipe/schema';
import { editorValidatesSchema, JSON_RECIPE_FILES, ownSchemaDiagnostics } from '../../src/extension/recipe/schemaOwner';

const root = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

test("package.json: jsonValidation covers exactly the JSON recipes, with the engine's schema; no yamlValidation", () => {
  const entries = manifest.contributes.jsonValidation;
  assert.equal(entries.length, 1);
  assert.deepEqual([...entries[0].fileMatch].sort(), [...JSON_RECIPE_FILES].sort());
  const shipped = JSON.parse(fs.readFileSync(path.join(root, entries[0].url), 'utf8'));
  assert.deepEqual(shipped, recipeSchema, 'the editor would check another schema than the engine');
  assert.equal(manifest.contributes.yamlValidation, undefined, 'YAML recipes would get every schema error twice');
});

// Recipe names as users write them, with the language VS Code gives each (jsonc: a files.associations override).
const documents: [string, string][] = [
  ['woodfisher.json', 'json'],
  ['mnist.prune.json', 'json'],
  ['mnist.prune.json', 'jsonc'],
  ['a.b.prune.json', 'json'],
  ['woodfisher.yaml', 'yaml'],
  ['woodfisher.yml', 'yaml'],
  ['mnist.prune.yaml', 'yaml'],
  ['mnist.prune.yml', 'yaml'],
  ['Woodfisher.JSON', 'json'],
  ['MNIST.PRUNE.JSON', 'json'],
  ['woodfisher.json', 'plaintext'],
];

test('every recipe name has exactly one reporter of its schema errors', () => {
  for (const [name, languageId] of documents) {
    assert.ok(RECIPE_FILE.test(name), `${name} is not a recipe name`);
    const file = path.join('/work', 'models', name);
    const editor = editorValidatesSchema(languageId, file);
    const ours = ownSchemaDiagnostics(languageId, file, ['error']).length > 0;
    assert.ok(editor !== ours, `${name} (${languageId}): ${editor ? 'both report' : 'nobody reports'} its schema errors`);
  }
  assert.equal(editorValidatesSchema('json', '/m/woodfisher.json'), true);
  assert.equal(editorValidatesSchema('yaml', '/m/woodfisher.yaml'), false);
  assert.equal(editorValidatesSchema('json', '/m/Woodfisher.JSON'), false, 'jsonValidation globs are case-sensitive');
  assert.equal(editorValidatesSchema('json', '/m/xprune.json'), false);
});

test("a schema error: once in a YAML recipe's diagnostics (an anyOf does not repeat it), none of ours in a JSON recipe", () => {
  const yaml = parseRecipe('model: model.json\nsparsity: 1.5\ndamp: -1\nmethod: woodfisher\n', 'woodfisher.yaml');
  const json = parseRecipe('{ "model": "model.json", "sparsity": 1.5, "damp": -1, "method": "woodfisher" }', 'woodfisher.json');
  for (const parsed of [yaml, json]) {
    const paths = parsed.diagnostics.map(d => d.path).sort();
    assert.deepEqual(paths, ['/damp', '/sparsity'], JSON.stringify(parsed.diagnostics)); // each error once, damp's anyOf included
  }
  assert.equal(ownSchemaDiagnostics('yaml', '/m/woodfisher.yaml', yaml.diagnostics).length, 2);
  assert.equal(ownSchemaDiagnostics('json', '/m/woodfisher.json', json.diagnostics).length, 0);
  const syntax = parseRecipe('{ "sparsity": 0.5,, }', 'woodfisher.json');
  assert.ok(syntax.diagnostics.length > 0);
  assert.equal(ownSchemaDiagnostics('json', '/m/woodfisher.json', syntax.diagnostics).length, 0, "JSON syntax errors are VS Code's too");
});
