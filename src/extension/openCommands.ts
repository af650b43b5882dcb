// `woodfisher.openReport` / `woodfisher.openPrunedModel`: the last result of a model, opened in the editor.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activeModelUri, asUri } from './pickModel';
import type { PanelManager } from './resultsPanel';
import type { ResultsStore, StoredResult } from './resultsStore';

async function resultFor(arg: unknown, panels: PanelManager, results: ResultsStore): Promise<StoredResult | undefined> {
  const model = asUri(arg)?.fsPath ?? panels.activeModel() ?? activeModelUri()?.fsPath;
  const hit = model ? await results.lookup(model) : undefined;
  if (!hit) {
    // Last resort: the only result of this window.
    const all = [...results.reports().keys()];
    if (!model && all.length === 1) return results.get(all[0]);
    void vscode.window.showWarningMessage('WoodFisher: no pruning results for this model yet. Run "Prune with WoodFisher" first.');
  }
  return hit;
}

export async function openReportCommand(arg: unknown, panels: PanelManager, results: ResultsStore): Promise<vscode.Uri | undefined> {
  const r = await resultFor(arg, panels, results);
  if (!r) return undefined;
  const uri = vscode.Uri.file(r.reportPath);
  await vscode.window.showTextDocument(uri, { preview: true, viewColumn: vscode.ViewColumn.One });
  return uri;
}

export async function openPrunedModelCommand(arg: unknown, panels: PanelManager, results: ResultsStore): Promise<vscode.Uri | undefined> {
  const r = await resultFor(arg, panels, results);
  if (!r) return undefined;
  const file = path.join(r.report.output || path.dirname(r.reportPath), 'model.json');
  try {
    await fs.access(file);
  } catch {
    void vscode.window.showWarningMessage(`WoodFisher: the pruned model is gone (${file}).`);
    return undefined;
  }
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(uri, { preview: true, viewColumn: vscode.ViewColumn.One });
  void vscode.commands.executeCommand('revealInExplorer', uri).then(undefined, () => undefined);
  return uri;
}
