// `woodfisher.newRecipe`: a commented woodfisher.yaml next to a chosen model, opened in the editor.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkModelJson } from './modelFile';
import { pickModel } from './pickModel';
import { starterRecipe } from './recipeText';

export async function newRecipeCommand(uriArg?: unknown): Promise<vscode.Uri | undefined> {
  const model = await pickModel(uriArg, true, 'New WoodFisher Recipe: choose the model.json');
  if (!model) return undefined;
  const check = await checkModelJson(model.fsPath);
  if (!check.ok) {
    void vscode.window.showErrorMessage(`WoodFisher: ${check.message}`);
    return undefined;
  }
  const dir = path.dirname(model.fsPath);
  const file = path.join(dir, 'woodfisher.yaml');
  const uri = vscode.Uri.file(file);
  try {
    await fs.writeFile(
      file,
      starterRecipe(
        model.fsPath,
        dir,
        check.layers.filter(l => l.prunable).map(l => l.name),
        await guessData(dir),
      ),
      { flag: 'wx' },
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      void vscode.window.showErrorMessage(`WoodFisher: cannot write ${file}: ${(e as Error).message}`);
      return undefined;
    }
    void vscode.window.showInformationMessage('woodfisher.yaml already exists beside this model; opened it.');
  }
  await vscode.window.showTextDocument(uri, { preview: false });
  return uri;
}

/** A calibration file near the model, if an obvious one exists (…x.npy / …inputs.npy / *.npz). */
async function guessData(dir: string): Promise<{ inputs: string; labels?: string } | undefined> {
  for (const d of [dir, path.join(dir, 'data'), path.join(path.dirname(dir), 'data')]) {
    let names: string[];
    try {
      names = await fs.readdir(d);
    } catch {
      continue;
    }
    const x = names.find(n => /(calib|train)[-_]?x\.npy$/i.test(n)) ?? names.find(n => /(^|[-_])(x|inputs)\.npy$/i.test(n));
    if (x) {
      const y =
        names.find(n => n === x.replace(/x\.npy$/i, 'y.npy') && n !== x) ??
        names.find(n => n === x.replace(/inputs\.npy$/i, 'labels.npy') && n !== x);
      return { inputs: path.join(d, x), labels: y ? path.join(d, y) : undefined };
    }
    const npz = names.find(n => n.toLowerCase().endsWith('.npz'));
    if (npz) return { inputs: path.join(d, npz) };
  }
  return undefined;
}
