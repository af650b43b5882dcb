// Positional argument + recipe + flags → PruneOptions, with recipe errors reported as "file:line:col: message".
import * as path from 'node:path';
import { checkRecipeAgainstModel, diagnosticError, parseRecipe, readRecipeText, ParsedRecipe, recipeToOptions } from '../engine/recipe';
import { loadPruneModule } from './engine';
import { PruneOptions, WoodFisherError } from '../engine/types';
import { UsageError } from './errors';
import { flagsToOverrides, isRecipePath, RunFlags } from './flags';

async function readRecipe(file: string): Promise<ParsedRecipe> {
  let text: string;
  try {
    text = readRecipeText(file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const parsed = parseRecipe(text, file);
  const first = parsed.diagnostics.find(d => d.severity === 'error');
  if (first) throw diagnosticError(file, first);
  return parsed;
}

export interface ResolvedRun {
  options: PruneOptions;
  recipeFile?: string;
}

/**
 * `target` is a model.json or a recipe file; --recipe names a recipe too. Flags override the recipe.
 * Missing essentials (model, data, sparsity, output) are usage errors.
 */
export async function resolveRunOptions(
  target: string | undefined,
  flags: RunFlags,
  extra: Partial<PruneOptions> = {},
): Promise<ResolvedRun> {
  let recipeFile = flags.recipe;
  let modelPath: string | undefined;
  if (target !== undefined) {
    if (isRecipePath(target)) {
      if (recipeFile !== undefined) throw new UsageError(`two recipes given: ${target} and --recipe ${recipeFile}`);
      recipeFile = target;
    } else {
      modelPath = path.resolve(target);
    }
  }
  const parsed = recipeFile === undefined ? undefined : await readRecipe(path.resolve(recipeFile));
  const recipeDir = recipeFile === undefined ? process.cwd() : path.dirname(path.resolve(recipeFile));
  let options: PruneOptions;
  try {
    options = recipeToOptions(parsed?.recipe ?? {}, recipeDir, { ...flagsToOverrides(flags), modelPath, ...extra });
  } catch (e) {
    if (e instanceof WoodFisherError && e.code === 'OPTIONS') throw new UsageError(e.message);
    throw e;
  }
  // Layer names in the recipe must exist in the model: report them at their line in the recipe.
  if (parsed && recipeFile && Object.keys(parsed.recipe.layers ?? {}).length > 0) {
    const { inspectModel } = await loadPruneModule();
    const { layers, layerNames } = await inspectModel(options.modelPath, { backend: options.backend });
    const [first] = checkRecipeAgainstModel(
      parsed.recipe,
      layers.map(l => l.name),
      parsed.source,
      layerNames,
    );
    if (first) throw diagnosticError(path.resolve(recipeFile), first);
  }
  return { options, recipeFile };
}
