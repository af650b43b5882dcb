// Which model.json a command is about: its argument, the active editor, or a pick.
import * as vscode from 'vscode';
import { isModelJsonPath } from './modelFile';

/** Menu contributions pass (uri, uri[]) or (uri, {groupId…}): accept only a real Uri. */
export function asUri(arg: unknown): vscode.Uri | undefined {
  return arg instanceof vscode.Uri ? arg : undefined;
}

export function activeModelUri(): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.uri.scheme === 'file' && isModelJsonPath(doc.uri.fsPath) ? doc.uri : undefined;
}

export async function pickModel(
  arg: unknown,
  prompt: boolean,
  title = 'Choose a TensorFlow.js model.json',
): Promise<vscode.Uri | undefined> {
  const given = asUri(arg) ?? activeModelUri();
  if (given || !prompt) return given;
  const found = await vscode.workspace.findFiles('**/model.json', '**/node_modules/**', 50);
  if (found.length) {
    const items = found.map(u => ({ label: vscode.workspace.asRelativePath(u), uri: u as vscode.Uri | undefined }));
    items.push({ label: '$(folder-opened) Browse…', uri: undefined });
    const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'model.json of a layers-model' });
    if (!pick) return undefined;
    if (pick.uri) return pick.uri;
  }
  const chosen = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: { 'TF.js model': ['json'] } });
  return chosen?.[0];
}
