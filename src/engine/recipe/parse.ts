// Recipe text (YAML, or JSON for .json files) → a validated Recipe plus diagnostics at exact source ranges.
import { readInputFile } from '../files';
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

/** A recipe is a flat mapping (layers: name: {…} is its deepest part); deeper nesting is refused before parsing. */
export const MAX_RECIPE_DEPTH = 32;

export function parseRecipe(text: string, fileName: string): ParsedRecipe {
  const depth = nestingDepth(text);
  if (depth > MAX_RECIPE_DEPTH) {
    const d: RecipeDiagnostic = {
      message: `the recipe nests ${depth > 1000 ? 'over 1000' : depth} levels deep (at most ${MAX_RECIPE_DEPTH}); a recipe is a mapping of keys (model, data, sparsity, …)`,
      path: '',
      severity: 'error',
      ...offsetsToRange(text, 0, Math.min(text.length, Math.max(0, text.indexOf('\n')))),
    };
    return {
      recipe: {},
      diagnostics: [d],
      source: {
        text,
        format: fileName.toLowerCase().endsWith('.json') ? 'json' : 'yaml',
        value: undefined,
        syntaxErrors: [],
        spans: new Map(),
      },
    };
  }
  const source = parseSource(text, fileName);
  if (source.syntaxErrors.length > 0) {
    const diagnostics = source.syntaxErrors.map(e => ({
      message: `${source.format === 'json' ? 'JSON' : 'YAML'} syntax: ${e.message}`,
      path: '',
      severity: 'error' as const,
      ...offsetsToRange(text, e.start, e.end),
    }));
    return { recipe: {}, diagnostics, source };
  }
  if (source.value === null || source.value === undefined) {
    source.value = {}; // an empty file is an empty recipe
  }
  if (typeof source.value !== 'object' || Array.isArray(source.value)) {
    const d: RecipeDiagnostic = {
      message: 'a recipe must be a mapping of keys (model, data, sparsity, …)',
      path: '',
      severity: 'error',
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

/** A recipe is a few hundred bytes of YAML or JSON: anything over this is not one. */
export const MAX_RECIPE_BYTES = 1024 * 1024;

/** A recipe file's text: a regular file (never a FIFO or a folder) of at most MAX_RECIPE_BYTES. */
export function readRecipeText(file: string): string {
  return readInputFile(file, 'Recipe', MAX_RECIPE_BYTES, 'RECIPE', '; a recipe is a short YAML or JSON file').toString('utf8');
}

/** Reads and validates a recipe file; throws a WoodFisherError('RECIPE') for its first error. */
export async function loadRecipe(file: string): Promise<Recipe> {
  const text = readRecipeText(file);
  const { recipe, diagnostics } = parseRecipe(text, file);
  const first = diagnostics.find(d => d.severity === 'error');
  if (first) throw diagnosticError(file, first);
  return recipe;
}

/** Deepest nesting of [ and { outside quotes, or of YAML block indentation: checked without recursion. */
function nestingDepth(text: string): number {
  let depth = 0,
    max = 0,
    quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote || c === '\n') quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  const indents: number[] = [];
  for (const line of text.split('\n')) {
    const body = line.trimStart();
    if (!body || body.startsWith('#')) continue;
    const indent = line.length - body.length;
    while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
    indents.push(indent);
    max = Math.max(max, indents.length);
  }
  return max;
}
