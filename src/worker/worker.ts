// The worker process: forked by the extension host (dist/worker.js), speaks src/protocol.ts over Node IPC,
// runs the engine, streams its events back, and exits when the job ends. No `vscode` here.
import * as path from 'node:path';
import type { Envelope, FromWorkerMessage, ToWorkerMessage } from '../protocol';
import { MessageHandler } from '../protocol';
import { createEventForwarder } from './throttle';
import { toErrorMessage } from './errors';
import { runSweepJob } from './sweep';

if (!process.send) {
  console.error('woodfisher worker: must be started with an IPC channel (child_process.fork)');
  process.exit(2);
}

let abort: AbortController | undefined;
let busy = false;
let lastSend: Promise<void> = Promise.resolve();

const channel = new MessageHandler<FromWorkerMessage, ToWorkerMessage>(
  envelope => {
    lastSend = new Promise(resolve => process.send!(envelope, () => resolve()));
  },
  body => {
    void onMessage(body);
  },
);

process.on('message', (m: Envelope<ToWorkerMessage>) => channel.handleMessage(m));
// The host went away (window closed, extension host crashed): never linger as an orphan.
process.on('disconnect', () => process.exit(0));

async function onMessage(msg: ToWorkerMessage): Promise<void> {
  if (msg.type === 'cancel') {
    // The engine stops at its next check and this process exits from the job's `finally`; the host kills it
    // after 500 ms if not. No process.exit here: it would tear down the Fisher threads inside native calls.
    abort?.abort();
    return;
  }
  if (busy) {
    channel.sendEvent({ type: 'error', message: 'A job is already running in this worker.', code: 'INTERNAL' });
    return;
  }
  busy = true;
  abort = new AbortController();
  const forward = createEventForwarder(event => channel.sendEvent({ type: 'event', event }), 100);
  try {
    if (msg.type === 'start') {
      // Loaded lazily: `ready` goes out before TF.js and its backends are initialised.
      const { runPrune } = await import('../engine/prune');
      const report = await runPrune(msg.options, { onEvent: forward.push, signal: abort.signal });
      forward.flush();
      const reportPath = path.join(msg.options.outDir, 'report.json');
      channel.sendEvent({ type: 'done', report, reportPath });
    } else if (msg.type === 'gradual') {
      const { runGradual } = await import('../engine/gradual/run');
      const report = await runGradual(msg.options, { onEvent: forward.push, signal: abort.signal });
      forward.flush();
      channel.sendEvent({ type: 'done', report, reportPath: path.join(msg.options.outDir, 'report.json') });
    } else if (msg.type === 'sweep') {
      const result = await runSweepJob(msg, {
        onEvent: forward.push,
        signal: abort.signal,
        onPoint: point => {
          forward.flush();
          channel.sendEvent({ type: 'sweepPoint', point });
        },
      });
      forward.flush();
      channel.sendEvent({ type: 'sweepDone', points: result.points, baseline: result.baseline, inputSize: result.inputSize });
    } else if (msg.type === 'sensitivity') {
      const { runSensitivity } = await import('../engine/sensitivity');
      const result = await runSensitivity(msg.options, msg.sparsities, msg.layers, {
        onEvent: forward.push,
        signal: abort.signal,
        onPoint: point => {
          forward.flush();
          channel.sendEvent({ type: 'sensitivityPoint', point });
        },
      });
      forward.flush();
      channel.sendEvent({ type: 'sensitivityDone', result });
    }
  } catch (err) {
    forward.flush();
    const e = toErrorMessage(err, abort.signal.aborted);
    if (e.code === 'INTERNAL' && err instanceof Error && err.stack) console.error(err.stack); // to the output channel, not the user
    channel.sendEvent(e);
  } finally {
    forward.dispose();
    busy = false;
    // One job per process: exit once the last message has reached the host.
    await lastSend;
    process.exit(0);
  }
}

channel.sendEvent({ type: 'ready', pid: process.pid });
