// The option values the engine defines once (engine/types.ts) and the copies editors need: package.json's settings
// and the recipe JSON Schema. They must say the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { schemaAt } from '../../src/engine/recipe';
import { BACKEND_NAMES, INVERSE_FORMS, METHOD_NAMES, RECOMPUTE_SCHEDULES, SCOPES, UPDATE_KINDS } from '../../src/engine/types';

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));

test("package.json settings offer exactly the engine's methods and backends", () => {
  const props = manifest.contributes.configuration.properties;
  assert.deepEqual(props['woodfisher.method'].enum, [...METHOD_NAMES]);
  assert.deepEqual(props['woodfisher.backend'].enum, [...BACKEND_NAMES]);
  assert.equal(props['woodfisher.method'].default, 'woodfisher');
});

test("the recipe schema offers exactly the engine's values", () => {
  const lists: [string, readonly string[]][] = [
    ['method', METHOD_NAMES],
    ['scope', SCOPES],
    ['update', UPDATE_KINDS],
    ['backend', BACKEND_NAMES],
    ['inverseForm', INVERSE_FORMS],
    ['recomputeSchedule', RECOMPUTE_SCHEDULES],
  ];
  for (const [key, values] of lists) assert.deepEqual(schemaAt([key])?.enum, [...values], `recipe key ${key}`);
});

test('every command a menu names is contributed, with a title', () => {
  const contributed = new Map<string, { title?: string }>(manifest.contributes.commands.map((c: { command: string }) => [c.command, c]));
  for (const [where, items] of Object.entries(manifest.contributes.menus as Record<string, { command: string }[]>)) {
    for (const item of items) assert.ok(contributed.get(item.command)?.title, `${where}: ${item.command} is not a contributed command`);
  }
});
