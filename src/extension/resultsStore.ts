// The last results per model (by model.json fsPath): from runs in this window, or from a report.json found
// in the recipe's output folder or a default `<model folder>-pruned-*` sibling, so lenses survive a reload.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PruneReport } from '../protocol';
import { recipeOutputFor } from './recipeLookup';
import { readInputText } from '../engine/files';
import { MAX_HOST_JSON_BYTES } from './modelFile';

export interface StoredResult {
  report: PruneReport;
  reportPath: string;
}

export class ResultsStore implements vscode.Disposable {
  private readonly results = new Map<string, StoredResult>();
  private readonly probed = new Set<string>();
  private readonly changed = new vscode.EventEmitter<string>();
  readonly onDidChange = this.changed.event;

  set(modelPath: string, report: PruneReport, reportPath: string): void {
    this.results.set(key(modelPath), { report, reportPath });
    this.changed.fire(modelPath);
  }

  get(modelPath: string): StoredResult | undefined {
    return this.results.get(key(modelPath));
  }

  /** Reports by model path (the test hook `lastResults()`). */
  reports(): Map<string, PruneReport> {
    return new Map([...this.results].map(([k, v]) => [k, v.report]));
  }

  /** In-memory result, else the newest report.json on disk that belongs to this model (looked up once). */
  async lookup(modelPath: string): Promise<StoredResult | undefined> {
    const k = key(modelPath);
    const hit = this.results.get(k);
    if (hit || this.probed.has(k)) return hit;
    this.probed.add(k);
    const found = await findReportOnDisk(modelPath);
    if (found && !this.results.has(k)) {
      this.results.set(k, found);
      this.changed.fire(modelPath);
    }
    return this.results.get(k);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function key(p: string): string {
  return path.resolve(p);
}

async function findReportOnDisk(modelPath: string): Promise<StoredResult | undefined> {
  const folder = path.dirname(modelPath);
  const parent = path.dirname(folder);
  const candidates: string[] = [];
  const recipeOut = await recipeOutputFor(modelPath);
  if (recipeOut) candidates.push(path.join(recipeOut, 'report.json'));
  try {
    const prefix = `${path.basename(folder)}-pruned-`;
    for (const name of await fs.readdir(parent)) if (name.startsWith(prefix)) candidates.push(path.join(parent, name, 'report.json'));
  } catch {
    /* unreadable parent: nothing to find */
  }
  let best: (StoredResult & { mtime: number }) | undefined;
  for (const file of candidates) {
    try {
      const [stat, text] = await Promise.all([fs.stat(file), readInputText(file, 'Report', MAX_HOST_JSON_BYTES)]);
      const report = JSON.parse(text) as PruneReport;
      if (!report || !Array.isArray(report.layers)) continue;
      if (
        typeof report.model === 'string' &&
        path.resolve(path.dirname(file), report.model) !== path.resolve(modelPath) &&
        path.resolve(report.model) !== path.resolve(modelPath)
      )
        continue;
      if (!best || stat.mtimeMs > best.mtime) best = { report, reportPath: file, mtime: stat.mtimeMs };
    } catch {
      /* missing or unreadable report: skip */
    }
  }
  return best && { report: best.report, reportPath: best.reportPath };
}
