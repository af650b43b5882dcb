// The CLI in a pipe whose reader leaves early (`woodfisher help prune | head -1`): the first line, no EPIPE trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');

test('`woodfisher help prune | head -1` prints one line and no error', { skip: !fs.existsSync(cli) && 'dist/cli.js not built' }, () => {
  const r = spawnSync('bash', ['-c', `set -o pipefail; node ${JSON.stringify(cli)} help prune | head -1`], { encoding: 'utf8' });
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.match(r.stdout, /^Usage: woodfisher prune/);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
});

test("`woodfisher --version` is package.json's version", { skip: !fs.existsSync(cli) && 'dist/cli.js not built' }, () => {
  const r = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
});
