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

/** What the command line names: the model (positional model.json) and the recipe (positional or --recipe), read. */
export interface RunSources {
  modelPath?: string;
  recipeFile?: string;
  parsed?: ParsedRecipe;
  recipeDir: string; // the recipe's paths are relative to it (the working directory without a recipe)
}

/** `target` is a model.json or a recipe file; --recipe names a recipe too (not both). */
export async function readRunSources(target: string | undefined, recipeFlag: string | undefined): Promise<RunSources> {
  let recipeFile = recipeFlag;
  let modelPath: string | undefined;
  if (target !== undefined) {
    if (isRecipePath(target)) {
      if (recipeFile !== undefined) throw new UsageError(`two recipes given: ${target} and --recipe ${recipeFile}`);
      recipeFile = target;
    } else {
      modelPath = path.resolve(target);
    }
  }
  if (recipeFile === undefined) return { modelPath, recipeDir: process.cwd() };
  const file = path.resolve(recipeFile);
  return { modelPath, recipeFile, parsed: await readRecipe(file), recipeDir: path.dirname(file) };
}

/** Layer names in the recipe must exist in the model: the first one that does not is reported at its line. */
export async function checkRecipeLayers(sources: RunSources, options: Pick<PruneOptions, 'modelPath' | 'backend'>): Promise<void> {
  const { parsed, recipeFile } = sources;
  if (!parsed || !recipeFile || Object.keys(parsed.recipe.layers ?? {}).length === 0) return;
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

/** Recipe + flags → PruneOptions; flags override the recipe; missing essentials are usage errors. */
export async function resolveRunOptions(
  target: string | undefined,
  flags: RunFlags,
  extra: Partial<PruneOptions> = {},
  command: 'prune' | 'sweep' = 'prune',
): Promise<ResolvedRun> {
  const sources = await readRunSources(target, flags.recipe);
  // A one-shot command does not silently drop a recipe's fine-tuning.
  if (sources.parsed?.recipe.gradual) {
    const file = sources.recipeFile;
    throw new UsageError(
      `${file} has a gradual: section, and ${command} is one-shot: ${
        command === 'sweep' ? 'add --gradual to sweep with its schedule' : `run it with \`woodfisher gradual ${file}\``
      } (or remove the section to prune once)`,
    );
  }
  let options: PruneOptions;
  try {
    options = recipeToOptions(sources.parsed?.recipe ?? {}, sources.recipeDir, {
      ...flagsToOverrides(flags),
      modelPath: sources.modelPath,
      ...extra,
    });
  } catch (e) {
    if (e instanceof WoodFisherError && e.code === 'OPTIONS') throw new UsageError(e.message);
    throw e;
  }
  await checkRecipeLayers(sources, options);
  return { options, recipeFile: sources.recipeFile };
}
