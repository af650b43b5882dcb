import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cliWith } from './runCli';

const cli = cliWith({ timeout: 60_000, env: { ...process.env, WOODFISHER_DEBUG: '' } });

/** Exactly one line on stderr, starting with "error: ". */
function assertOneLineError(stderr: string, re: RegExp) {
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], re);
  assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, 'no stack trace');
}

test('--help works on every command and exits 0', () => {
  for (const cmd of ['prune', 'sweep', 'inspect', 'demo']) {
    const r = cli(cmd, '--help');
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, new RegExp(`^Usage: woodfisher ${cmd} `));
  }
  const prune = cli('prune', '--help').stdout;
  for (const flag of [
    '--data',
    '--labels',
    '--sparsity',
    '--method',
    '--samples',
    '--block-size',
    '--damp',
    '--scope',
    '--update',
    '--recompute',
    '--recipe',
    '--eval',
    '--eval-labels',
    '--backend',
    '--max-memory',
    '--shuffle',
    '--seed',
    '--out',
    '--json',
  ]) {
    assert.ok(prune.includes(flag), `prune --help lists ${flag}`);
  }
});

test('usage errors: one line on stderr, exit code 2', () => {
  let r = cli('prune', 'model.json', '--sparsity', '1.5');
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /--sparsity.*'1\.5' is invalid.*\[0, 1\)/);

  r = cli('prune', 'model.json', '--sparsty', '0.5');
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /unknown option '--sparsty'.*--sparsity/);

  r = cli('prune', 'model.json', '--sparsity', '0.5', '--out', 'x');
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /no calibration data/);

  r = cli('prune', 'model.json', '--data', 'x.npy', '--out', 'x');
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /no target sparsity/);

  r = cli('sweep', 'model.json', '--sparsities', '0.5,0.9', '--methods', 'woodfisher,magnitud');
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /unknown method "magnitud"/);

  r = cli('prune', 'model.json', '--method', 'obs');
  assert.equal(r.code, 2);
  assertOneLineError(r.stderr, /--method.*'obs' is invalid/);

  r = cli();
  assert.equal(r.code, 2);
});

test('a recipe error is one line "error: file:line:col: message" with exit code 1', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-cli-'));
  try {
    const recipe = path.join(dir, 'bad.prune.yaml');
    writeFileSync(recipe, 'model: ./model.json\nsparsity: 0.9\nmethod: woodfsher\n');
    const r = cli('prune', recipe);
    assert.equal(r.code, 1);
    assertOneLineError(
      r.stderr,
      new RegExp(`^error: ${recipe.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:9: method must be one of .*did you mean "woodfisher"`),
    );
    assert.equal(r.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the installed `woodfisher` bin runs the bundled CLI', t => {
  const bin = path.resolve(__dirname, '../../bin/woodfisher.js');
  if (!fs.existsSync(path.resolve(__dirname, '../../dist/cli.js'))) {
    t.skip('dist/cli.js is not built (npm test builds it first)');
    return;
  }
  const r = spawnSync(process.execPath, [bin, 'prune', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--sparsity/);
  assert.match(r.stdout, /--pattern/);
});
