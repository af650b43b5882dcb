// What the commands share, made once by activate(): the jobs, the panels, the results, and each model's last run
// (kept in the workspace's state, so Run Again and the sweep's base survive a window reload).
import * as path from 'node:path';
import type { Memento } from 'vscode';
import type { GradualOptions, PruneOptions } from '../protocol';
import type { JobManager } from './jobs';
import type { PanelManager } from './resultsPanel';
import type { ResultsStore } from './resultsStore';

/** How many models' last runs the workspace state keeps (the most recent). */
export const REMEMBERED_MODELS = 50;

/** Last options per model.json, in memory and, with a Memento, in the workspace's state under `key`. */
class LastRuns<T extends { modelPath: string }> {
  private readonly runs: Map<string, T>;
  constructor(
    private readonly key: string,
    private readonly state?: Memento,
  ) {
    this.runs = new Map(Object.entries(state?.get<Record<string, T>>(key) ?? {}));
  }
  get(modelPath: string): T | undefined {
    return this.runs.get(path.resolve(modelPath));
  }
  set(options: T): void {
    const k = path.resolve(options.modelPath);
    this.runs.delete(k); // re-inserted last: the most recent
    this.runs.set(k, options);
    for (const old of [...this.runs.keys()].slice(0, Math.max(0, this.runs.size - REMEMBERED_MODELS))) this.runs.delete(old);
    void this.state?.update(this.key, Object.fromEntries(this.runs));
  }
}

export class Registry {
  private readonly lastRuns: LastRuns<PruneOptions>;
  private readonly lastGradualRuns: LastRuns<GradualOptions>;

  constructor(
    readonly jobs: JobManager,
    readonly panels: PanelManager,
    readonly results: ResultsStore,
    state?: Memento, // the workspace's state: last runs survive a reload
  ) {
    this.lastRuns = new LastRuns('woodfisher.lastRuns', state);
    this.lastGradualRuns = new LastRuns('woodfisher.lastGradualRuns', state);
  }

  /** The options of the model's last run ("Run Again", and the sweep's base). */
  lastOptions(modelPath: string): PruneOptions | undefined {
    return this.lastRuns.get(modelPath);
  }

  remember(options: PruneOptions): void {
    this.lastRuns.set(options);
  }

  /** The options of the model's last gradual run ("Run Again" in a gradual panel, a gradual sweep's settings). */
  lastGradual(modelPath: string): GradualOptions | undefined {
    return this.lastGradualRuns.get(modelPath);
  }

  rememberGradual(options: GradualOptions): void {
    this.lastGradualRuns.set(options);
  }
}
