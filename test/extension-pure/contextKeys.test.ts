// package.json's when-clauses against the context keys the extension sets: a clause reading a key nobody sets hides
// its command for good (or shows it for good, negated); a key set but read nowhere is dead code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTEXT_KEYS } from '../../src/extension/contextKeys';

const root = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Every when / enablement clause anywhere under contributes, with where it is. */
function clauses(node: unknown, at = 'contributes', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) node.forEach((n, i) => clauses(n, `${at}[${i}]`, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'when' || k === 'enablement') && typeof v === 'string') out.push([`${at}.${k}`, v]);
      else clauses(v, `${at}.${k}`, out);
    }
  }
  return out;
}

/** The extension's own context keys a clause reads (VS Code's keys, like resourceFilename, are not ours). */
const ourKeys = (clause: string) => clause.match(/\bwoodfisher\.[A-Za-z]+\b/g) ?? [];

const sources = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap(e => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));

test('every woodfisher.* key a when-clause reads is one the extension sets, and every key it sets is read', () => {
  const all = clauses(manifest.contributes);
  assert.ok(all.length > 10, 'found too few when-clauses: the walk is wrong');
  const known = new Set<string>(Object.values(CONTEXT_KEYS));
  const read = new Set<string>();
  for (const [where, clause] of all) {
    for (const key of ourKeys(clause)) {
      assert.ok(known.has(key), `${where} reads ${key}, which the extension never sets: "${clause}"`);
      read.add(key);
    }
  }
  for (const key of known) assert.ok(read.has(key), `${key} is set but no when-clause reads it`);
});

test('the palette offers Cancel only while a job runs, and the two Open commands only once results exist', () => {
  const palette = Object.fromEntries(
    manifest.contributes.menus.commandPalette.map((m: { command: string; when: string }) => [m.command, m.when]),
  );
  assert.equal(palette['woodfisher.cancel'], CONTEXT_KEYS.running);
  assert.equal(palette['woodfisher.openReport'], CONTEXT_KEYS.hasResults);
  assert.equal(palette['woodfisher.openPrunedModel'], CONTEXT_KEYS.hasResults);
});

test('the extension sets each key through CONTEXT_KEYS (no second spelling of a key in the sources)', () => {
  const files = sources(path.join(root, 'src', 'extension'));
  const setters = new Map<string, number>();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/'setContext',\s*([^,)]+)/g)) {
      const arg = m[1].trim();
      assert.match(arg, /^CONTEXT_KEYS\.[a-zA-Z]+$/, `${path.relative(root, file)} sets a context key by another name: ${arg}`);
      const key = arg.split('.')[1];
      setters.set(key, (setters.get(key) ?? 0) + 1);
    }
    if (!file.endsWith('contextKeys.ts')) {
      for (const key of Object.values(CONTEXT_KEYS))
        assert.ok(!text.includes(`'${key}'`), `${path.relative(root, file)} spells ${key} again`);
    }
  }
  for (const key of Object.keys(CONTEXT_KEYS)) assert.ok(setters.has(key), `CONTEXT_KEYS.${key} is never set`);
});
