// What commands accept from menus and tests, and the sparsity input box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asArgs, messageOf, parseSparsity } from '../../src/extension/commandArgs';

test('asArgs: only a plain object with a known key is an options bag', () => {
  const bag = { sparsity: 0.5, noPrompt: true };
  assert.equal(asArgs(bag), bag);
  assert.deepEqual(asArgs(undefined), {});
  assert.deepEqual(asArgs('0.5'), {});
  assert.deepEqual(asArgs([{ sparsity: 0.5 }]), {}, 'the explorer passes (uri, uri[]) for a multi-selection');
  assert.deepEqual(asArgs({ groupId: 2 }), {}, 'editor/title passes (uri, { groupId })');
  // a vscode.Uri as a plain object: scheme, authority, path, query, fragment — no option key among them
  assert.deepEqual(asArgs({ scheme: 'file', authority: '', path: '/m/model.json', query: '', fragment: '', fsPath: '/m/model.json' }), {});
});

test('parseSparsity: percent or fraction, in [0, 1)', () => {
  const cases: [string, number | undefined][] = [
    ['0.9', 0.9],
    ['90', 0.9],
    ['92.5', 0.925],
    ['92.5%', 0.925],
    [' 50 % ', 0.5],
    ['0', 0],
    ['0.5%', 0.005],
    ['100', undefined],
    ['1', 0.01],
    ['-5', undefined],
    ['abc', undefined],
    ['', undefined],
    ['1.2.3', undefined],
  ];
  for (const [text, want] of cases) {
    const got = parseSparsity(text);
    if (want === undefined) assert.equal(got, undefined, `"${text}" is refused`);
    else assert.ok(got !== undefined && Math.abs(got - want) < 1e-12, `"${text}" → ${got}, expected ${want}`);
  }
});

test('messageOf: the first line of an error, or the thing itself', () => {
  assert.equal(messageOf(new Error('one line\n    at stack')), 'one line');
  assert.equal(messageOf('plain'), 'plain');
  assert.equal(messageOf({ message: 'like an error' }), 'like an error');
});
