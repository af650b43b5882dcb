// `woodfisher.openExample` (the Getting Started walkthrough's first step): copies the bundled MNIST example —
// mlpnet/{model.json, weights.bin, woodfisher.yaml} and data/*.npy, the recipe's ../data layout — into a new folder
// (never over an existing one) and opens its model.json, ready for Prune with WoodFisher.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';

const FILES = [
  'mlpnet/model.json',
  'mlpnet/weights.bin',
  'mlpnet/woodfisher.yaml',
  'data/calib-x.npy',
  'data/calib-y.npy',
  'data/test-x.npy',
  'data/test-y.npy',
];

/** `<parent>/woodfisher-example`, or -2, -3 … : the first name that does not exist yet. */
async function freshFolder(parent: string): Promise<string> {
  for (let i = 1; ; i++) {
    const dir = path.join(parent, i === 1 ? 'woodfisher-example' : `woodfisher-example-${i}`);
    try {
      await fs.mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

export async function openExampleCommand(extensionUri: vscode.Uri, parentArg?: unknown): Promise<vscode.Uri | undefined> {
  let parent = typeof parentArg === 'string' ? parentArg : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!parent) {
    const chosen = await vscode.window.showOpenDialog({
      title: 'Copy the WoodFisher example into…',
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
    });
    if (!chosen?.[0]) return undefined;
    parent = chosen[0].fsPath;
  }
  const source = vscode.Uri.joinPath(extensionUri, 'examples').fsPath;
  let dir: string;
  try {
    dir = await freshFolder(parent);
    for (const f of FILES) {
      await fs.mkdir(path.join(dir, path.dirname(f)), { recursive: true });
      await fs.copyFile(path.join(source, f), path.join(dir, f), fs.constants.COPYFILE_EXCL);
    }
  } catch (e) {
    void vscode.window.showErrorMessage(
      `WoodFisher: cannot copy the example into ${parent}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
    return undefined;
  }
  const model = vscode.Uri.file(path.join(dir, 'mlpnet', 'model.json'));
  await vscode.window.showTextDocument(model, { preview: false });
  return model;
}
