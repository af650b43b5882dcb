// Who reports a recipe's schema errors, so that each shows once. JSON recipes: VS Code's JSON language service, which
// package.json's jsonValidation points at schemas/recipe.schema.json for exactly JSON_RECIPE_FILES (it also completes
// them). YAML recipes: this extension (VS Code has no YAML service; package.json declares no yamlValidation, so the
// YAML extension, where installed, adds no second set). Any other recipe name — Woodfisher.JSON — is ours too.
import * as path from 'node:path';

/** package.json's jsonValidation fileMatch, as file names: `*` is any run of characters. */
export const JSON_RECIPE_FILES = ['*.prune.json', 'woodfisher.json'];

/** True when VS Code's JSON language service validates this document against the recipe schema itself. */
export function editorValidatesSchema(languageId: string, fileName: string): boolean {
  if (languageId !== 'json' && languageId !== 'jsonc') return false;
  const name = path.basename(fileName);
  return JSON_RECIPE_FILES.some(glob => new RegExp(`^${glob.split('*').map(escape).join('.*')}$`).test(name));
}

/** The engine's syntax and schema diagnostics this extension shows: none where the editor shows them already. */
export function ownSchemaDiagnostics<D>(languageId: string, fileName: string, diagnostics: D[]): D[] {
  return editorValidatesSchema(languageId, fileName) ? [] : diagnostics;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
