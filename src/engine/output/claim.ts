// The output contract, for every command that writes a folder (prune, sweep, gradual …):
//  1. never delete or overwrite a file this tool did not write (a folder is ours only through its marker);
//  2. check the output before any computation (claimOutput runs first, and takes the lock);
//  3. at every instant the old or the new complete result exists under the output name; what a killed run left
//     (staging `.name.tmp-*`, backup `.name.old-*`) is finished or rolled back by the next run;
//  4. one run at a time per output (a lock file beside it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WoodFisherError, type OutputClaim } from '../types';
import { foreignEntries, MARKER, readMarker, removeOurFiles, writeMarker } from './marker';

export type { OutputClaim };

export interface ClaimOptions {
  kind: string;
  /** Files and folders the run reads: the output may neither be, contain nor sit inside the model's folder. */
  inputFolder?: string;
}

const bad = (msg: string, p: string) => new WoodFisherError(msg, 'OUTPUT', { path: p });

/** Checks the output path, recovers what a killed run left for it, and locks it. Call before any computation. */
export function claimOutput(outDir: string, options: ClaimOptions): OutputClaim {
  if (typeof outDir !== 'string' || outDir.trim() === '')
    throw bad('no output folder given (an empty path would mean the current folder); give --out <new folder>', String(outDir));
  const dir = realish(path.resolve(outDir));
  const shown = outDir;
  if (path.dirname(dir) === dir) throw bad(`the output folder ${shown} is the root of the file system; choose a new folder`, shown);
  if (options.inputFolder) {
    const input = realish(path.resolve(options.inputFolder));
    if (isInside(input, dir))
      throw bad(
        `the output folder ${shown} ${input === dir ? 'is' : 'contains'} the input model's folder; choose a new folder so the input is never touched`,
        shown,
      );
    if (isInside(dir, input))
      throw bad(`the output folder ${shown} is inside the input model's folder ${input}; choose a folder beside it`, shown);
  }
  const parent = path.dirname(dir);
  const ancestor = existingAncestor(parent);
  if (!fs.statSync(ancestor).isDirectory())
    throw bad(`cannot create the output folder ${shown}: ${ancestor} is a file, not a folder`, shown);
  try {
    fs.accessSync(ancestor, fs.constants.W_OK);
  } catch {
    throw bad(`cannot write the output folder ${shown}: ${ancestor} is not writable`, shown);
  }
  fs.mkdirSync(parent, { recursive: true });

  const lock = takeLock(dir, shown);
  const notes: string[] = [];
  try {
    recover(dir, notes);
    checkReplaceable(dir, shown);
  } catch (e) {
    releaseLock(lock);
    throw e;
  }
  return new Claim(dir, shown, options.kind, lock, notes);
}

/** What a run killed from outside left for `outDir` (its staging or backup folder, its lock), finished or rolled back
 *  now instead of by the next run: the same recovery, under the lock. Nothing happens while a live run holds it.
 *  Returns what was done, in words. */
export function recoverAbandoned(outDir: string): string[] {
  const dir = realish(path.resolve(outDir)),
    notes: string[] = [];
  if (!fs.existsSync(lockOf(dir))) return notes; // the run released it: it cleaned up after itself
  let lock: string;
  try {
    lock = takeLock(dir, outDir);
  } catch {
    return notes; // held by a live run, or the folder cannot be written: leave it as it is
  }
  try {
    recover(dir, notes);
  } finally {
    releaseLock(lock);
  }
  return notes;
}

/** A folder inside another claim's staging folder (a sweep's runs), at `dir` once committed: no lock or marker of its own. */
export function nestedOutput(staged: string, dir: string): OutputClaim {
  return {
    dir,
    notes: [],
    stage: () => {
      fs.mkdirSync(staged, { recursive: true });
      return staged;
    },
    commit: async () => {},
    release: () => {},
  };
}

class Claim implements OutputClaim {
  private staged: string | undefined; // a staging folder not committed yet
  private released = false;
  private readonly onExit = () => this.release();

  constructor(
    readonly dir: string,
    private readonly shown: string,
    private readonly kind: string,
    private readonly lock: string,
    readonly notes: string[],
  ) {
    process.on('exit', this.onExit); // even process.exit() leaves no staging folder or lock behind
  }

  stage(): string {
    if (this.staged) return this.staged;
    this.staged = siblingName(this.dir, 'tmp');
    fs.mkdirSync(this.staged);
    return this.staged;
  }

  async commit(): Promise<void> {
    const tmp = this.staged;
    if (!tmp) throw new Error('commit before stage');
    step('written');
    writeMarker(tmp, this.kind); // last file written: a staging folder with a marker is complete
    step('marked');
    checkReplaceable(this.dir, this.shown); // again: files may have appeared while we computed
    if (!fs.existsSync(this.dir)) {
      fs.renameSync(tmp, this.dir);
    } else if (isEmptyDir(this.dir)) {
      fs.rmdirSync(this.dir); // fails (and we stop) if something appeared this instant
      fs.renameSync(tmp, this.dir);
    } else {
      const old = tmp.replace(/\.tmp-(?=[^/]*$)/, '.old-');
      fs.renameSync(this.dir, old); // killed here: the next run finds old + complete tmp, rolls forward
      step('moved-old');
      fs.renameSync(tmp, this.dir);
      step('swapped');
      dropOld(old, this.dir, this.notes);
    }
    this.staged = undefined; // stage() again for the next result (gradual: one per epoch)
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    if (this.staged) fs.rmSync(this.staged, { recursive: true, force: true });
    releaseLock(this.lock);
  }
}

/** Refuses an existing output that is a file, or a folder holding anything this tool did not write. */
function checkReplaceable(dir: string, shown: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) throw bad(`the output ${shown} is a symbolic link; give the folder itself or a new one`, shown);
  if (!st.isDirectory()) throw bad(`the output ${shown} exists and is a file, not a folder; choose a new folder`, shown);
  const foreign = foreignEntries(dir);
  if (foreign.length === 0) return;
  const list = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
  throw bad(
    readMarker(dir)
      ? `the output folder ${shown} holds files WoodFisher did not write (${list}); move them away or choose a new folder`
      : `the output folder ${shown} exists and was not written by WoodFisher (it holds ${list}); choose a new folder`,
    shown,
  );
}

/** Fault injection for the crash tests (test/engine/output): called at each point a kill may fall between. */
let stepHook: ((name: string) => void) | undefined;
export function onCommitStep(hook: ((name: string) => void) | undefined): void {
  stepHook = hook;
}
function step(name: string): void {
  stepHook?.(name);
}

// --- crash recovery ---------------------------------------------------------------------------------------------

const SIBLING = (base: string) => new RegExp(`^\\.${escapeRe(base)}\\.(tmp|old|partial)-(\\d+)-(.+)$`);

function siblingName(dir: string, what: 'tmp' | 'old'): string {
  return path.join(
    path.dirname(dir),
    `.${path.basename(dir)}.${what}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
  );
}

/**
 * What a killed run left beside dir (its process gone): a backup `.old-*` with no output → roll forward to its
 * complete staging folder, or back to the backup; a backup beside a complete output → drop it; staging folders → drop.
 */
function recover(dir: string, notes: string[]): void {
  const parent = path.dirname(dir),
    re = SIBLING(path.basename(dir));
  const left = fs
    .readdirSync(parent)
    .map(name => ({ name, m: re.exec(name) }))
    .filter(e => e.m && !processAlive(Number(e.m[2])));
  for (const { name, m } of left.filter(e => e.m![1] === 'old')) {
    const old = path.join(parent, name),
      tmp = path.join(parent, `.${path.basename(dir)}.tmp-${m![2]}-${m![3]}`);
    if (!fs.existsSync(dir)) {
      if (fs.existsSync(tmp) && readMarker(tmp)) {
        fs.renameSync(tmp, dir);
        notes.push(`finished replacing ${dir}, which an interrupted run had left half done (its new result is in place)`);
      } else {
        fs.renameSync(old, dir);
        notes.push(`restored the previous ${dir}, which an interrupted run had moved aside`);
        continue;
      }
    }
    dropOld(old, dir, notes);
  }
  for (const { name } of left.filter(e => e.m![1] !== 'old')) {
    const p = path.join(parent, name);
    if (fs.existsSync(p)) {
      fs.rmSync(p, { recursive: true, force: true });
      notes.push(`removed ${name}, left by an interrupted run`);
    }
  }
}

/** Deletes a replaced result's files; anything else found in it is kept, in a visible folder beside the output. */
function dropOld(old: string, dir: string, notes: string[]): void {
  if (isEmptyDir(old)) {
    fs.rmdirSync(old);
    return;
  } // killed between its last file and its folder
  if (removeOurFiles(old, step)) return;
  const kept = `${dir}.kept-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(old, kept);
  notes.push(`files that appeared in the previous output while it was replaced are kept in ${kept}`);
}

// --- the lock ---------------------------------------------------------------------------------------------------

/** Why a file cannot be created in the output's parent folder, in words (else the system's code). */
const WHY_NOT_WRITABLE: Record<string, string> = {
  ENOENT: 'files cannot be created there', // also a missing parent, or /proc
  ENOTDIR: 'a part of its path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
};

const lockOf = (dir: string) => path.join(path.dirname(dir), `.${path.basename(dir)}.lock`);

function takeLock(dir: string, shown: string): string {
  const lock = lockOf(dir);
  const me = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, me, { flag: 'wx' });
      return lock;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw bad(`cannot write beside the output folder ${shown}: ${WHY_NOT_WRITABLE[code ?? ''] ?? code}`, shown);
    }
    const holder = readLock(lock);
    if (holder && (holder.host !== os.hostname() || processAlive(holder.pid))) {
      throw bad(
        `another WoodFisher run (pid ${holder.pid}${holder.host !== os.hostname() ? ` on ${holder.host}` : ''}, started ${holder.started}) is writing to ${shown}; wait for it or choose another folder`,
        shown,
      );
    }
    if (!holder && Date.now() - fs.statSync(lock).mtimeMs < 5000)
      throw bad(`another WoodFisher run is starting to write to ${shown}; try again`, shown);
    fs.rmSync(lock, { force: true }); // its process is gone
  }
  throw bad(`cannot lock the output folder ${shown}`, shown);
}

function readLock(lock: string): { pid: number; host: string; started: string } | undefined {
  try {
    const l = JSON.parse(fs.readFileSync(lock, 'utf8'));
    return Number.isInteger(l?.pid) && typeof l.host === 'string' ? l : undefined;
  } catch {
    return undefined;
  }
}

function releaseLock(lock: string): void {
  const holder = readLock(lock);
  if (holder?.pid === process.pid) fs.rmSync(lock, { force: true });
}

// --- paths ------------------------------------------------------------------------------------------------------

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** realpath of the deepest existing ancestor, so links cannot disguise a folder. */
export function realish(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  while (!fs.existsSync(cur)) {
    rest.unshift(path.basename(cur));
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return path.join(fs.realpathSync(cur), ...rest);
}

function existingAncestor(p: string): string {
  let cur = p;
  while (!fs.existsSync(cur)) {
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

function isEmptyDir(dir: string): boolean {
  return fs.readdirSync(dir).length === 0;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export { MARKER };
