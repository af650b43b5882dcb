// What the commands share, made once by activate(): the jobs, the panels, the results, and each model's last run.
import * as path from 'node:path';
import type { GradualOptions, PruneOptions } from '../protocol';
import type { JobManager } from './jobs';
import type { PanelManager } from './resultsPanel';
import type { ResultsStore } from './resultsStore';

export class Registry {
  private readonly lastRuns = new Map<string, PruneOptions>();
  private readonly lastGradualRuns = new Map<string, GradualOptions>();

  constructor(
    readonly jobs: JobManager,
    readonly panels: PanelManager,
    readonly results: ResultsStore,
  ) {}

  /** The options of the model's last run in this window ("Run Again", and the sweep's base). */
  lastOptions(modelPath: string): PruneOptions | undefined {
    return this.lastRuns.get(path.resolve(modelPath));
  }

  remember(options: PruneOptions): void {
    this.lastRuns.set(path.resolve(options.modelPath), options);
  }

  /** The options of the model's last gradual run ("Run Again" in a gradual panel). */
  lastGradual(modelPath: string): GradualOptions | undefined {
    return this.lastGradualRuns.get(path.resolve(modelPath));
  }

  rememberGradual(options: GradualOptions): void {
    this.lastGradualRuns.set(path.resolve(options.modelPath), options);
  }
}
