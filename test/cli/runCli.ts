// The real CLI from source, as the CLI tests run it: one place for the spawn, the examples and the temporary folders,
// so that each test states only its flags.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '../..');
export const ex = (p: string) => path.join(root, 'examples', p);
/** The bundled digits' labeled evaluation set, as flags. */
export const LABELED_EVAL = ['--eval', ex('data/test-x.npy'), '--eval-labels', ex('data/test-y.npy')];

/** A fresh temporary folder, removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `woodfisher …args` run from source with these spawn settings: exit code, stdout, stderr. */
export function cliWith(opts: { timeout?: number; env?: NodeJS.ProcessEnv } = {}) {
  return (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: opts.timeout ?? 300_000,
      ...(opts.env && { env: opts.env }),
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

export const cli = cliWith();
