// One job in one forked worker process (dist/worker.js). Node-only (no `vscode`), so it can be exercised
// by a plain script. Cancel = send `cancel`, then SIGKILL after 500 ms if the process is still alive — except while it
// saves: then the save finishes (or rolls back) first, so a cancel never leaves half a result or debris. What a killed
// worker left beside its output (lock, staging) is recovered as soon as it has exited (engine/output/claim.ts).
import { fork, type ChildProcess } from 'node:child_process';
import type {
  Envelope,
  FromWorkerMessage,
  ToWorkerMessage,
  GradualEvent,
  PruneReport,
  SweepPoint,
  EvalResult,
  SizeFigures,
  SensitivityPoint,
  SensitivityResult,
} from '../protocol';
import { MessageHandler } from '../protocol';
import { recoverAbandoned } from '../engine/output/claim';

export interface JobOutcome {
  status: 'done' | 'cancelled' | 'error';
  report?: PruneReport;
  reportPath?: string;
  sweep?: { points: SweepPoint[]; baseline?: EvalResult; inputSize?: SizeFigures };
  sensitivity?: SensitivityResult;
  error?: string;
  code?: string;
}

export interface JobCallbacks {
  onEvent?: (e: GradualEvent) => void; // a PruneEvent, or a gradual run's own
  onSweepPoint?: (p: SweepPoint) => void;
  onSensitivityPoint?: (p: SensitivityPoint) => void;
  /** stdout/stderr of the worker, line by line (for the output channel). */
  onLog?: (line: string) => void;
}

export const KILL_AFTER_MS = 500;
/** How long a cancel waits for a save in progress before killing anyway (the next run then recovers the output). */
export const SAVE_GRACE_MS = 60_000;

export class WorkerJob {
  private child: ChildProcess | undefined;
  private outcome: JobOutcome | undefined;
  private cancelRequested = false;
  private killTimer: NodeJS.Timeout | undefined;
  private saving = false;
  private readonly stderrTail: string[] = [];
  readonly result: Promise<JobOutcome>;
  private resolve!: (o: JobOutcome) => void;

  constructor(
    private readonly workerPath: string,
    private readonly request: ToWorkerMessage,
    private readonly cb: JobCallbacks = {},
  ) {
    this.result = new Promise(r => {
      this.resolve = r;
    });
  }

  start(): Promise<JobOutcome> {
    if (this.child || this.outcome) return this.result; // started already, or cancelled before it started
    let child: ChildProcess;
    try {
      child = fork(this.workerPath, [], {
        execArgv: [],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // Desktop VS Code runs the host in Electron: this makes the forked binary behave as plain Node.
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      });
    } catch (e) {
      this.finish({ status: 'error', error: `Could not start the WoodFisher worker: ${(e as Error).message}`, code: 'WORKER' });
      return this.result;
    }
    this.child = child;
    this.pipeLines(child.stdout, false);
    this.pipeLines(child.stderr, true);

    const channel = new MessageHandler<ToWorkerMessage, FromWorkerMessage>(
      env => {
        if (child.connected) child.send(env);
      },
      body => this.onMessage(body, channel),
    );
    child.on('message', (m: Envelope<FromWorkerMessage>) => channel.handleMessage(m));
    child.on('error', err => {
      this.finish({ status: 'error', error: `The WoodFisher worker failed: ${err.message}`, code: 'WORKER' });
    });
    child.on('exit', (code, signal) => {
      if (this.killTimer) clearTimeout(this.killTimer);
      if (code !== 0) this.recoverOutput(); // killed (by the cancel's deadline, or from outside) or crashed
      if (this.cancelRequested) {
        this.finish({ status: 'cancelled' });
        return;
      }
      this.finish({ status: 'error', error: crashMessage(code, signal, this.stderrTail), code: 'WORKER_CRASH' });
    });
    return this.result;
  }

  /** Cancels the job; the process is gone within ~0.5 s. No files are removed (the engine writes atomically). */
  cancel(): void {
    if (this.outcome) return;
    this.cancelRequested = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.finish({ status: 'cancelled' });
      return;
    }
    try {
      if (child.connected) child.send({ body: { type: 'cancel' } } satisfies Envelope<ToWorkerMessage>);
    } catch {
      /* already gone */
    }
    this.killTimer = setTimeout(
      () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      this.saving ? SAVE_GRACE_MS : KILL_AFTER_MS,
    );
    // Reported at once, unless a save is under way: then its end ('done', or the exit after rolling back) decides.
    if (!this.saving) this.finish({ status: 'cancelled' });
  }

  /** What a killed worker left beside its output (lock, staging) is cleaned now, not by the next run. */
  private recoverOutput(): void {
    const outDir = 'options' in this.request ? this.request.options.outDir : undefined;
    if (!outDir) return;
    try {
      recoverAbandoned(outDir);
    } catch {
      /* the next run's claim recovers it */
    }
  }

  /** Kills immediately (extension deactivation, panel closed). */
  kill(): void {
    this.cancelRequested = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.finish({ status: 'cancelled' });
  }

  private sent = false;
  private onMessage(body: FromWorkerMessage, channel: MessageHandler<ToWorkerMessage, FromWorkerMessage>): void {
    if (this.outcome) return;
    switch (body.type) {
      case 'ready':
        if (!this.sent) {
          this.sent = true;
          channel.sendEvent(this.request);
        }
        break;
      case 'event':
        if (body.event.type === 'stage' && body.event.stage === 'save') this.saving = body.event.done < body.event.total;
        this.cb.onEvent?.(body.event);
        break;
      case 'sweepPoint':
        this.cb.onSweepPoint?.(body.point);
        break;
      case 'done':
        this.finish({ status: 'done', report: body.report, reportPath: body.reportPath });
        break;
      case 'sweepDone':
        this.finish({ status: 'done', sweep: { points: body.points, baseline: body.baseline, inputSize: body.inputSize } });
        break;
      case 'sensitivityPoint':
        this.cb.onSensitivityPoint?.(body.point);
        break;
      case 'sensitivityDone':
        this.finish({ status: 'done', sensitivity: body.result });
        break;
      case 'error':
        this.finish(body.code === 'CANCELLED' ? { status: 'cancelled' } : { status: 'error', error: body.message, code: body.code });
        break;
    }
  }

  private finish(o: JobOutcome): void {
    if (this.outcome) return;
    this.outcome = o;
    this.resolve(o);
  }

  private pipeLines(stream: NodeJS.ReadableStream | null, isErr: boolean): void {
    if (!stream) return;
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (isErr) {
          this.stderrTail.push(line);
          if (this.stderrTail.length > 20) this.stderrTail.shift();
        }
        this.cb.onLog?.(line);
      }
    });
  }
}

function crashMessage(code: number | null, signal: NodeJS.Signals | null, stderr: string[]): string {
  const tail = stderr.join('\n');
  if (/heap out of memory|Allocation failed|ENOMEM/i.test(tail) || code === 134) {
    return 'The WoodFisher worker ran out of memory. Lower woodfisher.samples or woodfisher.blockSize, or set woodfisher.maxMemory.';
  }
  const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
  return `The WoodFisher worker stopped unexpectedly: it ${how}. See the "WoodFisher" output for details.`;
}
