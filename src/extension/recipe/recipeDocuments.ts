// Which documents are recipes (the cursor's place in a YAML recipe: yamlContext.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RECIPE_FILE } from '../../engine/recipe';

export const RECIPE_SELECTOR: vscode.DocumentSelector = [
  { language: 'yaml', pattern: '**/{woodfisher.yaml,woodfisher.yml,*.prune.yaml,*.prune.yml}' },
  { language: 'json', pattern: '**/{woodfisher.json,*.prune.json}' },
];

export function isRecipeDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && RECIPE_FILE.test(path.basename(doc.fileName));
}
