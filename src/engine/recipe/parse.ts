// Recipe text (YAML, or JSON for .json files) → a validated Recipe plus diagnostics at exact source ranges.
import { promises as fs } from 'node:fs';
import { WoodFisherError } from '../types';
import { offsetsToRange, parseSource, RecipeSource } from './spans';
import { validateRecipeValue } from './validate';
import type { Recipe, RecipeDiagnostic } from './types';

export interface ParsedRecipe {
  /** The recipe's values. With errors, whatever could be read (possibly {}): do not run it. */
  recipe: Recipe;
  diagnostics: RecipeDiagnostic[];
  source: RecipeSource;
}

export function parseRecipe(text: string, fileName: string): ParsedRecipe {
  const source = parseSource(text, fileName);
  if (source.syntaxErrors.length > 0) {
    const diagnostics = source.syntaxErrors.map(e => ({
      message: `${source.format === 'json' ? 'JSON' : 'YAML'} syntax: ${e.message}`, path: '', severity: 'error' as const,
      ...offsetsToRange(text, e.start, e.end),
    }));
    return { recipe: {}, diagnostics, source };
  }
  if (source.value === null || source.value === undefined) {
    source.value = {};  // an empty file is an empty recipe
  }
  if (typeof source.value !== 'object' || Array.isArray(source.value)) {
    const d: RecipeDiagnostic = {
      message: 'a recipe must be a mapping of keys (model, data, sparsity, …)', path: '', severity: 'error',
      ...offsetsToRange(text, 0, Math.max(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length)),
    };
    return { recipe: {}, diagnostics: [d], source };
  }
  return { recipe: source.value as Recipe, diagnostics: validateRecipeValue(source), source };
}

/** "file:line:col: message" — how the CLI and the error messages show a diagnostic. */
export function formatDiagnostic(file: string, d: RecipeDiagnostic): string {
  return `${file}:${d.line}:${d.column}: ${d.message}`;
}

export function diagnosticError(file: string, d: RecipeDiagnostic): WoodFisherError {
  return new WoodFisherError(formatDiagnostic(file, d), 'RECIPE', { file, line: d.line, column: d.column, path: d.path });
}

/** Reads and validates a recipe file; throws a WoodFisherError('RECIPE') for its first error. */
export async function loadRecipe(file: string): Promise<Recipe> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new WoodFisherError(`cannot read recipe ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'RECIPE', { file });
  }
  const { recipe, diagnostics } = parseRecipe(text, file);
  const first = diagnostics.find(d => d.severity === 'error');
  if (first) throw diagnosticError(file, first);
  return recipe;
}
