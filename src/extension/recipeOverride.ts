// A click on the sensitivity chart → `layers: { <layer>: { sparsity: s } }` in the model's recipe, as an edit in the
// editor (undoable, left unsaved for the user to review); the text change itself is recipeText.withLayerOverride.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findRecipeForModel } from '../engine/recipe';
import { withLayerOverride } from './recipeText';

/** Writes the override into the recipe beside the model (creating one with New WoodFisher Recipe if the user agrees). */
export async function setLayerOverride(modelPath: string, layer: string, sparsity: number): Promise<vscode.TextDocument | undefined> {
  let recipe = await findRecipeForModel(modelPath);
  if (!recipe) {
    const create = 'Create woodfisher.yaml';
    const answer = await vscode.window.showInformationMessage(
      `No recipe beside ${path.basename(path.dirname(modelPath))}/model.json to hold "${layer}: sparsity ${sparsity}".`,
      create,
    );
    if (answer !== create) return undefined;
    await vscode.commands.executeCommand('woodfisher.newRecipe', vscode.Uri.file(modelPath));
    recipe = await findRecipeForModel(modelPath);
    if (!recipe) return undefined;
  }
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(recipe));
  let next: string;
  try {
    next = withLayerOverride(doc.getText(), recipe, layer, sparsity);
  } catch (e) {
    void vscode.window.showErrorMessage(`WoodFisher: ${(e as Error).message}`);
    return undefined;
  }
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), next);
  if (!(await vscode.workspace.applyEdit(edit))) return undefined;
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
  const at = doc.getText().search(new RegExp(`^\\s*"?${layer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*:`, 'm'));
  if (at >= 0) {
    const pos = doc.positionAt(at);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenter);
  }
  void vscode.window.showInformationMessage(
    `WoodFisher: ${layer} set to ${(sparsity * 100).toFixed(1)}% in ${path.basename(recipe)} (not saved yet).`,
  );
  return doc;
}
