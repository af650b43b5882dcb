// Helpers for the extension-host tests: a tiny tdd-style builder on mocha's programmatic API (the suites are
// bundled into one file, so mocha's global `suite`/`test` do not exist when the modules are evaluated),
// the contract's types, and file helpers. Nothing here modifies examples/: tests work on the temporary copy of
// examples/ that scripts/e2e.sh opens as the workspace folder.
import Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';

export type Fn = (this: Mocha.Context) => unknown | Promise<unknown>;
export interface SuiteBuilder {
  test(title: string, fn: Fn): void;
  suiteSetup(fn: Fn): void;
  suiteTeardown(fn: Fn): void;
  setup(fn: Fn): void;
  teardown(fn: Fn): void;
}

export function defineSuite(parent: Mocha.Suite, title: string, body: (s: SuiteBuilder) => void): Mocha.Suite {
  const s = Mocha.Suite.create(parent, title);
  body({
    test: (t, fn) => {
      s.addTest(new Mocha.Test(t, fn as Mocha.Func));
    },
    suiteSetup: fn => {
      s.beforeAll(fn as Mocha.Func);
    },
    suiteTeardown: fn => {
      s.afterAll(fn as Mocha.Func);
    },
    setup: fn => {
      s.beforeEach(fn as Mocha.Func);
    },
    teardown: fn => {
      s.afterEach(fn as Mocha.Func);
    },
  });
  return s;
}

/** The contract of `woodfisher.prune` (see the extension's commands). */
export interface PruneCommandOptions {
  sparsity?: number;
  pattern?: string;
  method?: string;
  dataPath?: string;
  labelsPath?: string;
  outDir?: string;
  samples?: number;
  noPrompt?: boolean;
  recipePath?: string;
}
export interface PruneReportLike {
  sparsity: { target: number; achieved: number; pruned: number; weights: number };
  layers: { name: string; sparsity: number }[];
  backend: string;
  structure?: { before: { flops: number }; after: { flops: number } };
}
export interface PruneCommandResult {
  status: 'done' | 'cancelled' | 'error';
  outDir?: string;
  reportPath?: string;
  report?: PruneReportLike;
  error?: string;
}

export const EXTENSION_ID = 'woodfisher.woodfisher';

export function workspaceRoot(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) {
    throw new Error('no workspace folder is open (scripts/e2e.sh opens a copy of examples/)');
  }
  return f.uri.fsPath;
}

/** A scratch folder directly under the workspace copy (so a recipe's `../data/…` still resolves), unique per test. */
export function scratch(name: string): string {
  const dir = path.join(workspaceRoot(), `_test-${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export async function activate(): Promise<vscode.Extension<unknown>> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) {
    throw new Error(
      `extension ${EXTENSION_ID} is not loaded; loaded: ${vscode.extensions.all
        .filter(e => !e.id.startsWith('vscode.'))
        .map(e => e.id)
        .join(', ')}`,
    );
  }
  if (!ext.isActive) {
    await ext.activate();
  }
  return ext;
}

export function prune(uri: vscode.Uri, opts: PruneCommandOptions): Promise<PruneCommandResult> {
  return Promise.resolve(vscode.commands.executeCommand<PruneCommandResult>('woodfisher.prune', uri, opts));
}

/** sha256 of every file of a folder (recursively), keyed by relative path. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else {
        out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
      }
    }
  };
  walk(dir);
  return out;
}

/** Copy a model folder (model.json + shards only, no outputs or recipes) into dest. */
export function copyModel(srcDir: string, destDir: string): string {
  fs.mkdirSync(destDir, { recursive: true });
  const model = JSON.parse(fs.readFileSync(path.join(srcDir, 'model.json'), 'utf8'));
  fs.copyFileSync(path.join(srcDir, 'model.json'), path.join(destDir, 'model.json'));
  for (const group of model.weightsManifest ?? []) {
    for (const p of group.paths ?? []) {
      fs.mkdirSync(path.dirname(path.join(destDir, p)), { recursive: true });
      fs.copyFileSync(path.join(srcDir, p), path.join(destDir, p));
    }
  }
  return path.join(destDir, 'model.json');
}

/** Number of rows (first dimension) of a .npy file, from its header. */
export function npyRows(file: string): number {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const header = buf.subarray(major === 1 ? 10 : 12, (major === 1 ? 10 : 12) + headerLen).toString('latin1');
  const m = /'shape':\s*\((\d+)/.exec(header);
  if (!m) {
    throw new Error(`cannot read the shape of ${file}: ${header}`);
  }
  return Number(m[1]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms));
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && (v as unknown) !== false) {
        return v as T;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) {
    throw new Error(message);
  }
}
