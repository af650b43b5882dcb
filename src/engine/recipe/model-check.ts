// Checks a recipe against the real model: layer names in `layers:` must exist (no static schema can know them).
import { escapePointer } from './pointer';
import { rangeOfPath, RecipeSource } from './spans';
import { didYouMean } from './suggest';
import type { Recipe, RecipeDiagnostic } from './types';

/**
 * One diagnostic per unknown layer name, with a "did you mean" suggestion. With the recipe's source,
 * diagnostics point at the layer's key; without it they carry line/column 0.
 */
export function checkRecipeAgainstModel(
  recipe: Recipe,
  layerNames: string[],
  source?: RecipeSource,
  allLayerNames: string[] = [],
): RecipeDiagnostic[] {
  const out: RecipeDiagnostic[] = [];
  for (const [name, ov] of Object.entries(recipe.layers ?? {})) {
    if (layerNames.includes(name)) continue;
    // any layer (BatchNorm, …) may set its own encoding: `quantize:` alone
    if (allLayerNames.includes(name) && ov && typeof ov === 'object' && Object.keys(ov).every(k => k === 'quantize')) continue;
    const path = `/layers/${escapePointer(name)}`;
    const range = source ? rangeOfPath(source, path, 'key') : { line: 0, column: 0, endLine: 0, endColumn: 0 };
    out.push({
      message: `the model has no prunable layer "${name}"${didYouMean(name, layerNames)}; prunable layers: ${layerNames.join(', ') || '(none)'}`,
      path,
      severity: 'error',
      ...range,
    });
  }
  return out;
}
