// The extension's view of recipes: which recipe belongs to a model and what it says, using the engine's
// pure recipe module (YAML/JSON + schema; no TF.js).
import * as path from 'node:path';
import { findRecipeForModel, MAX_RECIPE_BYTES, parseRecipe } from '../engine/recipe';
import { readInputText } from '../engine/files';
import type { Recipe, ParsedRecipe } from '../engine/recipe';

export async function readRecipe(file: string): Promise<ParsedRecipe | undefined> {
  // A regular file under the size cap only: a FIFO or a huge file in a hostile workspace never stalls the host.
  try {
    return parseRecipe(await readInputText(file, 'Recipe', MAX_RECIPE_BYTES, 'RECIPE'), file);
  } catch {
    return undefined;
  }
}

/** The absolute `output` folder of the recipe beside a model, if it has one. */
export async function recipeOutputFor(modelPath: string): Promise<string | undefined> {
  const file = await findRecipeForModel(modelPath).catch(() => undefined);
  if (!file) return undefined;
  const parsed = await readRecipe(file);
  const out = parsed?.recipe.output;
  return typeof out === 'string' ? path.resolve(path.dirname(file), out) : undefined;
}

/** The model.json a recipe names, resolved against the recipe's folder. */
export function recipeModelPath(recipe: Recipe, recipeFile: string): string | undefined {
  return typeof recipe.model === 'string' ? path.resolve(path.dirname(recipeFile), recipe.model) : undefined;
}
