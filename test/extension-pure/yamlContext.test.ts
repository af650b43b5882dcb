// Where the cursor is in a YAML recipe: what completion and hover build on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { yamlContext } from '../../src/extension/recipe/yamlContext';

/** The text with a | marking the cursor → (lines, position). */
function at(marked: string) {
  const lines = marked.split('\n');
  const line = lines.findIndex(l => l.includes('|'));
  const character = lines[line].indexOf('|');
  lines[line] = lines[line].replace('|', '');
  return yamlContext({ lineAt: i => ({ text: lines[i] }) }, { line, character });
}

test('top level: no parents; typing a value names its key', () => {
  assert.deepEqual(
    at('model: m.json\nmeth|'),
    { parents: [], valueOf: undefined, keyAt: undefined, prefix: 'meth' },
    'no colon yet: no key',
  );
  const v = at('model: m.json\nmethod: wood|');
  assert.equal(v.valueOf, 'method');
  assert.equal(v.prefix, 'wood');
  assert.deepEqual(v.parents, []);
});

test('nested mappings: the enclosing keys, outermost first, skipping comments and blank lines', () => {
  const text = 'model: m.json\nlayers:\n  # the first layer\n\n  fc1:\n    sparsity: |';
  const c = at(text);
  assert.deepEqual(c.parents, ['layers', 'fc1']);
  assert.equal(c.valueOf, 'sparsity');
  assert.deepEqual(at('data:\n  inputs: x.npy\n  lab|').parents, ['data']);
  assert.deepEqual(at('layers:\n  fc1: { exclude: true }\n  |').parents, ['layers'], 'an empty line indented under layers');
  assert.deepEqual(at('layers:\n  fc1:\n    sparsity: 0.5\n|').parents, [], 'back at the top level');
});

test('the key under the cursor, for hover; none in a value or a comment', () => {
  assert.deepEqual(at('  blo|ckSize: 1000').keyAt, { key: 'blockSize', line: 0, start: 2, end: 11 });
  assert.equal(at('blockSize: 10|00').keyAt, undefined);
  assert.equal(at('# a comm|ent').keyAt, undefined);
  assert.deepEqual(at('"quoted ke|y": 1').keyAt?.key, 'quoted key');
});
