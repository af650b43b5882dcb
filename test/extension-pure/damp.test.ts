// λ typed as text, read three ways that must agree: the Settings UI's check (package.json's woodfisher.damp pattern),
// the setting as a run reads it (settingValues.parseDamp) and the --damp flag (cli/flags.parseDamp). What runs must
// not be flagged red in the Settings UI, and nothing the run cannot use may pass silently as the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDamp as settingDamp } from '../../src/extension/settingValues';
import { parseDamp as flagDamp } from '../../src/cli/flags';

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
const setting = manifest.contributes.configuration.properties['woodfisher.damp'];
const pattern = new RegExp(setting.pattern, 'u');

const outcome = (f: () => unknown): { ok: true; value: unknown } | { ok: false; error: string } => {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
};

test('the setting: numbers, auto and empty; a clear error for anything else', () => {
  assert.equal(setting.type, 'string');
  assert.equal(setting.default, '');
  const good: [string, number | 'auto' | undefined][] = [
    ['1e-5', 1e-5],
    [' 1e-5 ', 1e-5],
    ['0.001', 0.001],
    ['.5', 0.5],
    ['3.', 3],
    ['2E+3', 2000],
    ['1e0', 1],
    ['auto', 'auto'],
    ['  auto\t', 'auto'],
    ['', undefined],
    ['   ', undefined],
  ];
  for (const [text, value] of good) {
    assert.equal(settingDamp(text), value, JSON.stringify(text));
    assert.ok(pattern.test(text), `the Settings UI flags ${JSON.stringify(text)}, which runs`);
  }
  for (const text of [
    '0',
    '0.0',
    '.0',
    '0e5',
    '-1e-5',
    '+1',
    'abc',
    '1e-5x',
    '0x10',
    'Infinity',
    'NaN',
    'Auto',
    'auto auto',
    '1,5',
    '1 e-5',
    'e5',
    '.',
  ]) {
    const r = outcome(() => settingDamp(text));
    assert.ok(!r.ok, `${JSON.stringify(text)} was read as ${!r.ok || JSON.stringify(r.value)}`);
    assert.match(r.error, /^Setting woodfisher\.damp: expected a positive number such as 1e-5, or auto/);
    assert.ok(!r.error.includes('\n'));
    assert.ok(!pattern.test(text), `the Settings UI accepts ${JSON.stringify(text)}, which the run refuses`);
  }
  // An older settings.json may hold a number; null is VS Code's "unset".
  assert.equal(settingDamp(1e-4), 1e-4);
  assert.equal(settingDamp(null), undefined);
  assert.equal(settingDamp(undefined), undefined);
  for (const v of [0, -1, Infinity, NaN, true, {}]) assert.ok(!outcome(() => settingDamp(v)).ok, `${String(v)} accepted`);
});

test('the --damp flag reads text exactly as the setting does (the flag has no empty form)', () => {
  for (const text of ['1e-5', ' 2.5e-3 ', '.5', 'auto', ' auto ', '0', '-1', 'abc', '0x10', 'Infinity', '1e-5x']) {
    const s = outcome(() => settingDamp(text));
    const f = outcome(() => flagDamp(text));
    assert.equal(f.ok, s.ok, JSON.stringify(text));
    if (f.ok && s.ok) assert.equal(f.value, s.value, JSON.stringify(text));
    else if (!f.ok) assert.equal(f.error, 'expected a positive number such as 1e-5, or auto');
  }
  assert.ok(!outcome(() => flagDamp('')).ok);
});

test('random text: what runs passes the Settings UI check, and what the check refuses does not run', () => {
  const alphabet = '0123456789..eE+-  autoxAI,';
  const rand = (n: number) => Math.floor(Math.random() * n);
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    const text = Array.from({ length: rand(9) }, () => alphabet[rand(alphabet.length)]).join('');
    const r = outcome(() => settingDamp(text));
    if (r.ok) accepted++;
    // 1e400 (Infinity) and 1e-400 (0) pass the pattern and are refused at run time with the clear error: allowed.
    if (r.ok) assert.ok(pattern.test(text), `runs but flagged: ${JSON.stringify(text)}`);
    if (!pattern.test(text)) assert.ok(!r.ok, `refused by the Settings UI but runs: ${JSON.stringify(text)}`);
  }
  assert.ok(accepted > 100, `only ${accepted} of 5000 random strings were values: the generator tests too little`);
});
