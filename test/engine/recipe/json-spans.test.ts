// JSON recipes through jsonc-parser: strict JSON, and the span of every value and key by JSON pointer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonWithSpans } from '../../../src/engine/recipe/json-spans';
import { escapePointer, pointerKeys } from '../../../src/engine/recipe/pointer';

test('values and the spans of nested values and keys, keys with / and ~ escaped', () => {
  const text = '{\n  "a": [1, {"b/c": null, "d~": "x"}],\n  "e": true\n}';
  const r = parseJsonWithSpans(text);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.value, { a: [1, { 'b/c': null, 'd~': 'x' }], e: true });
  const at = (p: string) => {
    const s = r.spans.get(p)!;
    return [text.slice(...s.value), s.key && text.slice(...s.key)];
  };
  assert.deepEqual(at(''), [text, undefined]);
  assert.deepEqual(at('/a/1/b~1c'), ['null', '"b/c"']);
  assert.deepEqual(at('/a/1/d~0'), ['"x"', '"d~"']);
  assert.deepEqual(at('/a/0'), ['1', undefined]);
  assert.deepEqual(at('/e'), ['true', '"e"']);
});

test('strict JSON: comments, trailing commas and duplicate keys are syntax errors at their place', () => {
  const comment = parseJsonWithSpans('{\n  // no\n  "a": 1\n}');
  assert.match(comment.error!.message, /comments/);
  assert.equal(comment.error!.start, 4);
  const trailing = parseJsonWithSpans('{"a": 1,}');
  assert.ok(trailing.error, 'a trailing comma is refused');
  assert.equal(trailing.value, undefined);
  const dup = parseJsonWithSpans('{"a": 1, "a": 2}');
  assert.equal(dup.error!.message, 'duplicate key "a"');
  assert.deepEqual([dup.error!.start, dup.error!.end], [9, 12]);
  assert.match(parseJsonWithSpans('  ').error!.message, /expected a value/, 'an empty file is not JSON');
});

test('pointer escaping round-trips', () => {
  for (const keys of [[], ['a'], ['layers', 'fc/1', '~x~1'], ['']]) {
    assert.deepEqual(pointerKeys(keys.map(k => `/${escapePointer(k)}`).join('')), keys);
  }
});
