// The output contract (src/engine/output/claim.ts): user files survive byte for byte next to and inside every kind
// of output path; a kill at every step of a save leaves the old or the new complete result, and the next run leaves
// no debris; one run at a time per output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { claimOutput, MARKER, recoverAbandoned } from '../../../src/engine/output/claim';
import { WoodFisherError } from '../../../src/engine/types';

const CHILD = path.join(__dirname, 'crash-child.ts');
const tempDir = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-out-')));

/** Every file below dir with its bytes (base64), for byte-for-byte comparisons. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out[r] = fs.readFileSync(path.join(dir, r)).toString('base64');
      else out[r] = '<special>';
    }
  };
  walk('');
  return out;
}

function refused(f: () => unknown, pattern: RegExp) {
  assert.throws(
    f,
    (e: unknown) => e instanceof WoodFisherError && e.code === 'OUTPUT' && pattern.test(e.message) && !e.message.includes('\n'),
  );
}

/** Writes one complete result through the contract, in this process. */
async function writeResult(out: string, files: Record<string, string>, inputFolder?: string) {
  const claim = claimOutput(out, { kind: 'test', inputFolder });
  try {
    const dir = claim.stage();
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    await claim.commit();
    return claim.notes;
  } finally {
    claim.release();
  }
}

function runChild(out: string, killAt: string, version: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', CHILD, out, killAt, version], { encoding: 'utf8' });
}

/** A complete result written by crash-child.ts with this version. */
function isComplete(dir: string, version: string): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8'));
    return (
      JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).version === version &&
      fs.readFileSync(path.join(dir, 'sub', 'weights.bin')).equals(Buffer.alloc(1000, Number(version))) &&
      JSON.stringify(marker.files) === JSON.stringify(['model.json', 'sub/weights.bin'])
    );
  } catch {
    return false;
  }
}

test('a folder that is not ours is refused before any work, and every file in and beside it survives', () => {
  const root = tempDir();
  const user = path.join(root, 'other-model');
  fs.mkdirSync(path.join(user, '.git'), { recursive: true });
  fs.writeFileSync(path.join(user, 'model.json'), '{"format":"layers-model"}');
  fs.writeFileSync(path.join(user, 'notes.md'), 'mine');
  fs.writeFileSync(path.join(user, '.git', 'HEAD'), 'ref: refs/heads/main');
  fs.writeFileSync(path.join(root, 'beside.txt'), 'beside');
  const input = path.join(root, 'input');
  fs.mkdirSync(input);
  fs.writeFileSync(path.join(input, 'model.json'), '{}');
  fs.writeFileSync(path.join(root, 'a-file'), 'a file');
  fs.symlinkSync(user, path.join(root, 'link-to-other'));
  const before = snapshot(root);

  refused(() => claimOutput(user, { kind: 'test' }), /other-model exists and was not written by WoodFisher \(it holds/);
  refused(() => claimOutput(path.join(root, 'link-to-other'), { kind: 'test' }), /not written by WoodFisher/);
  refused(() => claimOutput(root, { kind: 'test' }), /not written by WoodFisher/);
  refused(() => claimOutput('', { kind: 'test' }), /no output folder given/);
  refused(() => claimOutput('  ', { kind: 'test' }), /no output folder given/);
  refused(() => claimOutput('/', { kind: 'test' }), /root of the file system/);
  refused(() => claimOutput(path.join(root, 'a-file'), { kind: 'test' }), /is a file, not a folder/);
  refused(() => claimOutput(path.join(root, 'a-file', 'sub'), { kind: 'test' }), /a-file is a file, not a folder/);
  refused(() => claimOutput(input, { kind: 'test', inputFolder: input }), /is the input model's folder/);
  refused(() => claimOutput(root, { kind: 'test', inputFolder: input }), /contains the input model's folder/);
  refused(() => claimOutput(path.join(input, 'pruned'), { kind: 'test', inputFolder: input }), /inside the input model's folder/);
  assert.deepEqual(snapshot(root), before, 'nothing changed');
  assert.deepEqual(
    fs.readdirSync(root).filter(f => f.startsWith('.')),
    [],
    'no lock or staging folder left',
  );
});

test('a previous output is replaced; one that gained a user file is refused, and the file survives', async () => {
  const root = tempDir();
  const out = path.join(root, 'out');
  fs.writeFileSync(path.join(root, 'keep.txt'), 'beside');
  await writeResult(out, { 'model.json': 'v1', 'runs/a/report.json': 'r1' });
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, MARKER), 'utf8')).files, ['model.json', 'runs/a/report.json']);
  await writeResult(out, { 'model.json': 'v2' });
  assert.deepEqual(snapshot(out), { 'model.json': Buffer.from('v2').toString('base64'), [MARKER]: snapshot(out)[MARKER] });
  assert.deepEqual(fs.readdirSync(root).sort(), ['keep.txt', 'out']);

  fs.writeFileSync(path.join(out, 'analysis.ipynb'), '{"cells":[]}');
  const before = snapshot(root);
  refused(() => claimOutput(out, { kind: 'test' }), /holds files WoodFisher did not write \(analysis\.ipynb\)/);
  assert.deepEqual(snapshot(root), before);

  // A file that appears while the run computes: the commit refuses, nothing of the user's is lost.
  fs.rmSync(path.join(out, 'analysis.ipynb'));
  const claim = claimOutput(out, { kind: 'test' });
  fs.writeFileSync(path.join(claim.stage(), 'model.json'), 'v3');
  fs.writeFileSync(path.join(out, 'late.txt'), 'late');
  await assert.rejects(claim.commit(), (e: unknown) => e instanceof WoodFisherError && /late\.txt/.test(e.message));
  claim.release();
  assert.equal(fs.readFileSync(path.join(out, 'late.txt'), 'utf8'), 'late');
  assert.equal(fs.readFileSync(path.join(out, 'model.json'), 'utf8'), 'v2');
  assert.deepEqual(fs.readdirSync(root).sort(), ['keep.txt', 'out']);
});

test('an empty folder is used; a marker cannot be forged to list paths outside the folder', async () => {
  const root = tempDir();
  const out = path.join(root, 'empty');
  fs.mkdirSync(out);
  await writeResult(out, { 'model.json': 'v1' });
  assert.equal(fs.readFileSync(path.join(out, 'model.json'), 'utf8'), 'v1');
  const forged = path.join(root, 'forged');
  fs.mkdirSync(forged);
  fs.writeFileSync(path.join(forged, 'x.txt'), 'x');
  fs.writeFileSync(
    path.join(forged, MARKER),
    JSON.stringify({ tool: 'woodfisher', version: 1, kind: 'prune', written: '', files: ['../keep.txt', 'x.txt'] }),
  );
  refused(() => claimOutput(forged, { kind: 'test' }), /not written by WoodFisher/);
  assert.equal(fs.readFileSync(path.join(forged, 'x.txt'), 'utf8'), 'x');
});

test("a second run into the same output is refused while the first holds it; a dead run's lock is taken over", async () => {
  const root = tempDir();
  const out = path.join(root, 'out');
  const first = claimOutput(out, { kind: 'test' });
  refused(
    () => claimOutput(out, { kind: 'test' }),
    new RegExp(`another WoodFisher run \\(pid ${process.pid}, started .*\\) is writing to`),
  );
  first.release();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  fs.writeFileSync(path.join(root, '.out.lock'), JSON.stringify({ pid: dead, host: os.hostname(), started: 'then' }));
  const second = claimOutput(out, { kind: 'test' });
  second.release();
  assert.deepEqual(fs.readdirSync(root), []);
});

test('a kill at every step of a save leaves the old or the new complete result, and the next run no debris', async () => {
  const steps = ['exit-while-writing', 'written', 'marked', 'moved-old', 'swapped', 'dropping', 'none'];
  for (const killAt of steps) {
    const root = tempDir();
    const out = path.join(root, 'out');
    fs.writeFileSync(path.join(root, 'user.txt'), 'user');
    assert.equal(runChild(out, 'none', '1').status, 0);
    assert.ok(isComplete(out, '1'));
    const r = runChild(out, killAt, '2');
    const wasKilled = killAt !== 'none' && killAt !== 'exit-while-writing';
    assert.equal(r.signal, wasKilled ? 'SIGKILL' : null, `${killAt}: ${r.stderr}`);
    // At this instant: the old or the new complete result is on disk, under the output name or beside it.
    const siblings = fs.readdirSync(root).filter(f => f.startsWith('.out.'));
    const candidates = [out, ...siblings.map(f => path.join(root, f))];
    assert.ok(
      candidates.some(d => isComplete(d, '1') || isComplete(d, '2')),
      `${killAt}: no complete result in ${siblings}`,
    );
    if (killAt === 'exit-while-writing') assert.deepEqual(siblings, [], 'process.exit leaves no staging folder or lock');
    // The next run recovers: a complete result under the name, no staging/backup/lock left, the user's file intact.
    const notes = await writeResult(path.join(root, 'other'), { 'model.json': 'x' }); // another output: no effect on out
    assert.deepEqual(notes, []);
    const claim = claimOutput(out, { kind: 'test' });
    claim.release();
    assert.ok(isComplete(out, '1') || isComplete(out, '2'), `${killAt}: out incomplete after recovery`);
    if (['moved-old', 'swapped', 'dropping', 'none'].includes(killAt))
      assert.ok(isComplete(out, '2'), `${killAt}: the new result should be in place`);
    assert.deepEqual(fs.readdirSync(root).sort(), ['other', 'out', 'user.txt'], `${killAt}: debris left`);
    assert.equal(fs.readFileSync(path.join(root, 'user.txt'), 'utf8'), 'user');
  }
});

test("recoverAbandoned (the extension, right after it killed a worker) does the next run's recovery now, and leaves a live run alone", () => {
  for (const killAt of ['written', 'marked', 'moved-old', 'swapped', 'dropping']) {
    const root = tempDir();
    const out = path.join(root, 'out');
    fs.writeFileSync(path.join(root, 'user.txt'), 'user');
    assert.equal(runChild(out, 'none', '1').status, 0);
    assert.equal(runChild(out, killAt, '2').signal, 'SIGKILL');
    assert.ok(fs.existsSync(path.join(root, '.out.lock')), `${killAt}: the killed run's lock is there`);
    recoverAbandoned(out);
    assert.ok(isComplete(out, '1') || isComplete(out, '2'), `${killAt}: out incomplete after recovery`);
    assert.deepEqual(fs.readdirSync(root).sort(), ['out', 'user.txt'], `${killAt}: debris left`);
  }
  const root = tempDir();
  const out = path.join(root, 'out');
  const live = claimOutput(out, { kind: 'test' }); // this process holds it
  const dir = live.stage();
  recoverAbandoned(out);
  assert.ok(fs.existsSync(dir) && fs.existsSync(path.join(root, '.out.lock')), "a live run's staging and lock stay");
  live.release();
  recoverAbandoned(path.join(root, 'never-claimed')); // nothing there: nothing done
  assert.deepEqual(fs.readdirSync(root), []);
});
