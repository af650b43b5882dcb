// Which .npy/.npz a command reads: a quick pick over the workspace's arrays (or Browse…), then the labels for a .npy.
import * as path from 'node:path';
import * as vscode from 'vscode';

type Item = vscode.QuickPickItem & { fsPath?: string };

export interface DataPick {
  dataPath: string;
  labelsPath?: string;
}

export interface DataPrompt {
  title: string; // the quick pick's title, e.g. 'WoodFisher: calibration inputs (3/3)'
  placeHolder: string;
  dialogTitle: string; // the Browse… dialog's title
  prefer?: RegExp; // file names listed first (e.g. /train/i)
  labelsTitle: string;
  labelsOptional?: { label: string; detail: string }; // an item meaning "no labels" (else labels are required)
}

const LABELS = /label|[-_]y\b/i;
const byPreference = (re: RegExp) => (a: Item, b: Item) => Number(re.test(b.label)) - Number(re.test(a.label));

/** The data file, and for a .npy its labels (a .npz carries x and y); undefined when the user cancels. */
export async function pickData(modelPath: string, p: DataPrompt): Promise<DataPick | undefined> {
  const found = await vscode.workspace.findFiles('**/*.{npy,npz}', '**/node_modules/**', 200);
  const items: Item[] = found.map(u => ({ label: vscode.workspace.asRelativePath(u), fsPath: u.fsPath }));
  if (p.prefer) items.sort(byPreference(p.prefer));
  items.push({ label: '$(folder-opened) Browse…' });
  const pick = await vscode.window.showQuickPick(items, { title: p.title, placeHolder: p.placeHolder });
  if (!pick) return undefined;
  const dataPath =
    pick.fsPath ??
    (
      await vscode.window.showOpenDialog({
        title: p.dialogTitle,
        canSelectMany: false,
        defaultUri: vscode.Uri.file(path.dirname(modelPath)),
        filters: { 'NumPy arrays': ['npy', 'npz'] },
      })
    )?.[0]?.fsPath;
  if (!dataPath) return undefined;
  if (dataPath.toLowerCase().endsWith('.npz')) return { dataPath };
  const labels = items.filter(i => i.fsPath && i.fsPath !== dataPath && i.fsPath.toLowerCase().endsWith('.npy')).sort(byPreference(LABELS));
  const choices: Item[] = p.labelsOptional ? [p.labelsOptional, ...labels] : labels;
  const lp = await vscode.window.showQuickPick(choices, { title: p.labelsTitle });
  if (!lp || (!p.labelsOptional && !lp.fsPath)) return undefined;
  return { dataPath, labelsPath: lp.fsPath };
}
