// Runs jobs in worker processes with a cancellable progress notification, mirrored into the model's panel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GradualEvent, PanelSnapshot, PruneReport, ToWorkerMessage } from '../protocol';
import { jobProgress, type JobShape } from './jobProgress';
import { applyEvent, applyReport, emptySnapshot } from './snapshot';
import { applyGradualEvent, gradualViewOf, isGradualOnly } from './gradualSnapshot';
import type { PanelManager } from './resultsPanel';
import type { ResultsStore } from './resultsStore';
import { WorkerJob, type JobOutcome } from './workerJob';
import { modelFolderName } from './outputDir';
import { checkRun } from './runGuard';
import { CONTEXT_KEYS } from './contextKeys';

/** What `woodfisher.prune` / `woodfisher.sweep` resolve to (integration tests await it). */
export interface CommandResult {
  status: 'done' | 'cancelled' | 'error';
  outDir?: string;
  reportPath?: string;
  report?: PruneReport;
  error?: string;
}

/** Seconds without any event from the worker before the stage is called stalled. */
const STALL_SECONDS = 30;

export class JobManager implements vscode.Disposable {
  private readonly running = new Map<string, WorkerJob>();

  constructor(
    private readonly workerPath: string,
    private readonly panels: PanelManager,
    private readonly results: ResultsStore,
    private readonly output: vscode.OutputChannel,
  ) {}

  /** The palette offers Cancel Pruning only while something runs (package.json when-clause). */
  private runningChanged(): void {
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.running, this.running.size > 0);
  }

  /** Cancels the job of one model, or every job. Returns how many were cancelled. */
  cancel(modelPath?: string): number {
    const targets = modelPath ? ([this.running.get(path.resolve(modelPath))].filter(Boolean) as WorkerJob[]) : [...this.running.values()];
    for (const j of targets) j.cancel();
    return targets.length;
  }

  async run(
    modelPath: string,
    request: Exclude<ToWorkerMessage, { type: 'cancel' }>,
    options: { quiet?: boolean; prompt?: boolean; before?: () => Thenable<unknown> } = {},
  ): Promise<CommandResult> {
    const k = path.resolve(modelPath);
    if (this.running.has(k)) {
      const error = `WoodFisher is already running on ${modelFolderName(modelPath)}. Cancel it first.`;
      if (!options.quiet) void vscode.window.showWarningMessage(error);
      return { status: 'error', error };
    }
    const refused = await checkRun(request.options.outDir, options.prompt ?? !options.quiet);
    if (refused) {
      if (refused.status === 'error' && !options.quiet) void vscode.window.showErrorMessage(`WoodFisher: ${refused.error}`);
      return refused;
    }
    if (this.running.has(k))
      return { status: 'error', error: `WoodFisher is already running on ${modelFolderName(modelPath)}. Cancel it first.` };
    const mode = request.type === 'sweep' ? 'sweep' : request.type === 'gradual' ? 'gradual' : 'prune';
    const outDir = request.options.outDir;
    // A sensitivity scan adds to what the panel shows (the last run's table stays); the others start afresh.
    const scan = request.type === 'sensitivity' ? request : undefined;
    const shown = this.panels.snapshotOf(modelPath);
    let snap: PanelSnapshot = scan
      ? {
          ...(shown ?? emptySnapshot(modelPath, modelFolderName(modelPath))),
          status: 'running',
          stage: undefined,
          sensitivity: { status: 'running', method: scan.options.method, sparsities: scan.sparsities, layers: [], points: [] },
        }
      : {
          ...emptySnapshot(modelPath, modelFolderName(modelPath)),
          mode,
          status: 'running',
          outDir,
          sweep: mode === 'sweep' ? [] : undefined,
          sweepEpochs: request.type === 'sweep' ? request.gradual?.epochs : undefined,
          gradual: mode === 'gradual' ? { epochs: [], steps: [] } : undefined,
        };
    const after = (status: 'done' | 'cancelled' | 'error', extra: Partial<PanelSnapshot['sensitivity']> = {}): PanelSnapshot => ({
      ...snap,
      status: shown?.status === 'running' ? 'idle' : (shown?.status ?? 'idle'),
      error: shown?.error,
      stage: undefined,
      sensitivity: { ...snap.sensitivity!, ...extra, status },
    });
    const set = (next: PanelSnapshot) => {
      snap = next;
      this.panels.update(modelPath, snap);
    };
    let reportProgress: ((e: GradualEvent) => void) | undefined;
    const shape: JobShape = {
      mode,
      runs: request.type === 'sweep' ? new Set(request.sparsities).size * request.methods.length : undefined,
      gradual: request.type === 'sweep' && !!request.gradual,
    };
    const job = new WorkerJob(this.workerPath, request, {
      onEvent: e => {
        set(isGradualOnly(e) ? applyGradualEvent(snap, e) : applyEvent(snap, e));
        reportProgress?.(e);
        if (e.type === 'log') this.output.appendLine(`${e.level}: ${e.message}`);
        if (e.type === 'epoch') this.output.appendLine(describeEpoch(e.record, e.epochs));
      },
      onSweepPoint: p => set({ ...snap, sweep: [...(snap.sweep ?? []), p] }),
      onSensitivityPoint: p =>
        set({
          ...snap,
          sensitivity: {
            ...snap.sensitivity!,
            points: [...snap.sensitivity!.points, p],
            layers: snap.sensitivity!.layers.includes(p.layer) ? snap.sensitivity!.layers : [...snap.sensitivity!.layers, p.layer],
          },
        }),
      onLog: line => this.output.appendLine(line),
    });
    this.running.set(k, job); // registered before anything awaits, so a cancel issued now reaches it
    this.runningChanged();
    try {
      await options.before?.();
    } catch {
      /* showing the model is a courtesy; the run goes on */
    }
    const panel = this.panels.show(modelPath);
    set(snap);
    panel.reveal();
    this.output.appendLine(`[${new Date().toISOString()}] ${mode} ${modelPath} → ${outDir}`);

    const verb = scan
      ? 'Scanning the layers of'
      : mode === 'sweep'
        ? snap.sweepEpochs !== undefined
          ? 'Gradually sweeping'
          : 'Sweeping'
        : mode === 'gradual'
          ? 'Gradually pruning'
          : 'Pruning';
    let outcome: JobOutcome;
    let watchdog: NodeJS.Timeout | undefined;
    try {
      outcome = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `WoodFisher: ${verb} ${modelFolderName(modelPath)}`,
          cancellable: true,
        },
        (progress, token) => {
          let shown = 0;
          reportProgress = e => {
            if (e.type !== 'stage') return;
            // by stage, a gradual run by epochs, a sweep by runs (each one-shot or gradual) and within the run under way
            const p = jobProgress(shape, e, snap.sweep?.length ?? 0, shown);
            const increment = (p.fraction - shown) * 100;
            shown = p.fraction;
            progress.report({ message: p.message, increment });
          };
          token.onCancellationRequested(() => job.cancel());
          // A stage that stops moving (a stalled read, a wedged native call) is said, with the stage, in the
          // notification and the panel's log; Cancel ends the worker whatever it is doing.
          let last = Date.now(),
            stalledSaid = false,
            stage = 'starting';
          const seen = reportProgress;
          reportProgress = e => {
            last = Date.now();
            stalledSaid = false;
            if (e.type === 'stage') stage = e.stage;
            seen?.(e);
          };
          watchdog = setInterval(() => {
            const quiet = Math.round((Date.now() - last) / 1000);
            if (quiet < STALL_SECONDS) return;
            progress.report({ message: `no progress for ${quiet} s in ${stage} — Cancel stops it` });
            if (!stalledSaid) {
              stalledSaid = true;
              set({ ...snap, log: [...snap.log, `warn: no progress for ${quiet} s in stage ${stage}; Cancel stops the worker`] });
            }
          }, 5000);
          return job.start();
        },
      );
    } finally {
      if (watchdog) clearInterval(watchdog);
      this.running.delete(k);
      this.runningChanged();
    }

    if (scan) {
      const r = outcome.sensitivity;
      set(
        after(
          outcome.status,
          r ? { on: r.on, dense: r.dense, layers: r.layers.map(l => l.name), points: r.points, sparsities: r.sparsities } : {},
        ),
      );
      const error = outcome.status === 'error' ? (outcome.error ?? 'unknown error') : undefined;
      if (error && !options.quiet) void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
      this.output.appendLine(`sensitivity: ${outcome.status}${error ? `: ${error}` : ''}`);
      return { status: outcome.status, error };
    }
    switch (outcome.status) {
      case 'done': {
        if (outcome.report) {
          const g = gradualViewOf(outcome.report);
          set({ ...applyReport(snap, outcome.report, outcome.reportPath), ...(g ? { gradual: g } : {}) });
          this.results.set(modelPath, outcome.report, outcome.reportPath ?? path.join(outDir, 'report.json'));
          if (!options.quiet) void this.announce(modelPath, outcome.report, outcome.reportPath);
        } else {
          set({
            ...snap,
            status: 'done',
            stage: undefined,
            sweep: outcome.sweep?.points ?? snap.sweep,
            before: outcome.sweep?.baseline ?? snap.before,
            inputSize: outcome.sweep?.inputSize,
          });
          if (!options.quiet) void vscode.window.showInformationMessage(`WoodFisher sweep of ${modelFolderName(modelPath)} finished.`);
        }
        return { status: 'done', outDir, reportPath: outcome.reportPath, report: outcome.report };
      }
      case 'cancelled':
        set({
          ...snap,
          status: 'cancelled',
          log: snap.gradual?.checkpoint
            ? [
                ...snap.log,
                `info: the checkpoint after epoch ${snap.gradual.checkpoint} is kept in ${outDir}; Gradual Prune again on this model offers to resume it`,
              ]
            : snap.log,
        });
        this.output.appendLine('Pruning cancelled');
        if (!options.quiet) void vscode.window.showInformationMessage('Pruning cancelled');
        return { status: 'cancelled', outDir };
      default: {
        const error = outcome.error ?? 'unknown error';
        set({ ...snap, status: 'error', error });
        this.output.appendLine(`error${outcome.code ? ` (${outcome.code})` : ''}: ${error}`);
        if (!options.quiet) void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
        return { status: 'error', error, outDir };
      }
    }
  }

  private async announce(modelPath: string, report: PruneReport, reportPath?: string): Promise<void> {
    const acc = report.after ? ` · accuracy ${(report.after.accuracy * 100).toFixed(2)}%` : '';
    const choice = await vscode.window.showInformationMessage(
      `Pruned ${modelFolderName(modelPath)}: ${(report.sparsity.achieved * 100).toFixed(1)}% sparsity${acc}.`,
      'Open Report',
      'Reveal Pruned Model',
    );
    if (choice === 'Open Report' && reportPath) await vscode.commands.executeCommand('woodfisher.openReport', vscode.Uri.file(modelPath));
    if (choice === 'Reveal Pruned Model') await vscode.commands.executeCommand('woodfisher.openPrunedModel', vscode.Uri.file(modelPath));
  }

  dispose(): void {
    for (const j of this.running.values()) j.kill();
    this.running.clear();
  }
}

function describeEpoch(r: import('../protocol').EpochRecord, of: number): string {
  const p = (x: number) => `${(100 * x).toFixed(2)}%`;
  return `epoch ${r.epoch}/${of}: train loss ${r.train.loss.toFixed(4)} acc ${p(r.train.accuracy)}${r.eval ? ` · eval acc ${p(r.eval.accuracy)}` : ''} · sparsity ${p(r.sparsity)}`;
}
