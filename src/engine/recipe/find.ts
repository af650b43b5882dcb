// Finds the recipe that belongs to a model: woodfisher.yaml or *.prune.{yaml,yml,json} beside it.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseRecipe, readRecipeText } from './parse';

export const RECIPE_FILE = /^(woodfisher\.(ya?ml|json)|.+\.prune\.(ya?ml|json))$/i;

/** The first recipe in the model's folder whose `model` resolves to modelPath (woodfisher.* first). */
export async function findRecipeForModel(modelPath: string): Promise<string | undefined> {
  const dir = path.dirname(path.resolve(modelPath));
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return undefined;
  }
  const candidates = names
    .filter(n => RECIPE_FILE.test(n))
    .sort((a, b) => Number(!a.startsWith('woodfisher.')) - Number(!b.startsWith('woodfisher.')) || a.localeCompare(b));
  for (const name of candidates) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = readRecipeText(file);
    } catch {
      continue;
    }
    const { source } = parseRecipe(text, file);
    const model = (source.value as { model?: unknown } | undefined)?.model;
    if (typeof model === 'string' && path.resolve(dir, model) === path.resolve(modelPath)) return file;
  }
  return undefined;
}
