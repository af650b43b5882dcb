// The worker process as the extension host runs it: forked with an IPC channel, speaking src/protocol.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Envelope, FromWorkerMessage, GradualEvent, ToWorkerMessage } from '../../src/protocol';
import { DEFAULT_OPTIONS, PruneOptions } from '../../src/engine/types';

const EX = path.resolve(__dirname, '../../examples');
const WORKER = path.resolve(__dirname, '../../src/worker/worker.ts');

function start(options: PruneOptions, onMessage?: (m: FromWorkerMessage, send: (b: ToWorkerMessage) => void) => void) {
  const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const got: FromWorkerMessage[] = [];
  const send = (body: ToWorkerMessage) => child.send({ body } satisfies Envelope<ToWorkerMessage>);
  child.on('message', (m: Envelope<FromWorkerMessage>) => {
    got.push(m.body);
    if (m.body.type === 'ready') send({ type: 'start', options });
    onMessage?.(m.body, send);
  });
  const exited = new Promise<number | null>(r => child.on('exit', code => r(code)));
  return { got, exited };
}

const options = (outDir: string, over: Partial<PruneOptions> = {}): PruneOptions => ({
  ...DEFAULT_OPTIONS,
  modelPath: path.join(EX, 'mlpnet/model.json'),
  dataPath: path.join(EX, 'data/calib-x.npy'),
  labelsPath: path.join(EX, 'data/calib-y.npy'),
  sparsity: 0.8,
  samples: 64,
  outDir,
  ...over,
});

test('a job: ready → throttled events → done with the report, then the process exits', async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-worker-')), 'out');
  const { got, exited } = start(options(out));
  assert.equal(await exited, 0);
  assert.equal(got[0].type, 'ready');
  const done = got.find(m => m.type === 'done');
  assert.ok(done && done.type === 'done', JSON.stringify(got.filter(m => m.type === 'error')));
  assert.ok(Math.abs(done.report.sparsity.achieved - 0.8) < 1e-3);
  assert.ok(fs.existsSync(path.join(out, 'report.json')));
  assert.ok(got.some(m => m.type === 'event' && m.event.type === 'layer'));
});

test('an engine error arrives as one error message with its code, no stack', async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-worker-')), 'out');
  const { got, exited } = start(options(out, { dataPath: '/nonexistent/x.npy' }));
  assert.equal(await exited, 0);
  const err = got.find(m => m.type === 'error');
  assert.ok(err && err.type === 'error');
  assert.equal(err.code, 'DATA_FORMAT');
  assert.match(err.message, /nonexistent/);
  assert.doesNotMatch(err.message, /\n\s+at /);
  assert.equal(fs.existsSync(out), false);
});

test('cancel during the gradients ends the process and writes nothing', { timeout: 60_000 }, async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-worker-')), 'out');
  let cancelledAt = 0;
  const { exited } = start(options(out, { samples: 1000 }), (m, send) => {
    if (!cancelledAt && m.type === 'event' && m.event.type === 'stage' && m.event.stage !== 'load') {
      cancelledAt = Date.now();
      send({ type: 'cancel' });
    }
  });
  assert.equal(await exited, 0);
  assert.ok(cancelledAt > 0, 'saw a stage event to cancel on');
  assert.equal(fs.existsSync(out), false);
});

/** A prune job run the way the extension host runs it (WorkerJob over the built dist/worker.js), into a fresh folder. */
async function hostJob(onEvent: (e: GradualEvent, job: { cancel(): void }, root: string) => void) {
  const { WorkerJob } = await import('../../src/extension/workerJob');
  const dist = path.resolve(__dirname, '../../dist/worker.js');
  assert.ok(fs.existsSync(dist), 'dist/worker.js is built before the tests (npm test builds first)');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-worker-'));
  const out = path.join(root, 'out');
  const job: InstanceType<typeof WorkerJob> = new WorkerJob(
    dist,
    { type: 'start', options: options(out) },
    { onEvent: e => onEvent(e, job, root) },
  );
  return { root, out, outcome: await job.start() };
}

test(
  "the host's Cancel during the save waits for it: the result is complete, nothing is left beside it",
  { timeout: 120_000 },
  async () => {
    let cancelledInSave = false;
    const { root, out, outcome } = await hostJob((e, job) => {
      if (e.type === 'stage' && e.stage === 'save' && e.done === 0 && !cancelledInSave) {
        cancelledInSave = true;
        job.cancel();
      }
    });
    assert.ok(cancelledInSave, 'the save stage was seen by the host');
    assert.equal(outcome.status, 'done', 'the save finished instead of being killed half way');
    assert.ok(
      fs.existsSync(path.join(out, 'model.json')) &&
        fs.existsSync(path.join(out, 'report.json')) &&
        fs.existsSync(path.join(out, '.woodfisher-output.json')),
    );
    await new Promise(r => setTimeout(r, 200));
    assert.deepEqual(fs.readdirSync(root), ['out'], 'no staging folder, backup or lock left');
  },
);

test(
  'a worker killed mid-run (from outside, or at the cancel deadline): the host cleans its lock at once, not the next run',
  { timeout: 120_000 },
  async () => {
    let killed = false;
    const { root, outcome } = await hostJob((e, _job, dir) => {
      const lock = path.join(dir, '.out.lock');
      if (killed || e.type !== 'stage' || e.stage === 'load' || !fs.existsSync(lock)) return;
      killed = true;
      process.kill(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, 'SIGKILL'); // the lock names the worker
    });
    assert.ok(killed, 'the worker was killed while it held the output');
    assert.equal(outcome.status, 'error');
    assert.deepEqual(fs.readdirSync(root), [], 'no lock, staging folder or output left');
  },
);
