// `woodfisher.prune`: a recipe beside the model runs as is; otherwise quick picks for sparsity, calibration
// data and method (then an offer to save the answers as a recipe). Resolves to a CommandResult.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_OPTIONS, type Method, type PruneOptions } from '../protocol';
import { METHODS, needsGradients } from '../engine/methods';
import { parsePattern, patternSparsity } from '../engine/obs/select';
import { findRecipeForModel, recipeToOptions } from '../engine/recipe';
import { METHOD_NAMES } from '../engine/types';
import { asArgs, messageOf, parseSparsity, UNTRUSTED, type PruneArgs } from './commandArgs';
import { pickData } from './pickData';
import type { CommandResult } from './jobs';
import { checkModelJson } from './modelFile';
import { defaultOutDir } from './outputDir';
import { pickModel } from './pickModel';
import { readRecipe } from './recipeLookup';
import type { Registry } from './registry';
import { machineOptions, readSettings, settingsAsOptions } from './settings';
import { recipeYaml } from './recipeText';

export async function pruneCommand(registry: Registry, uriArg?: unknown, rawArgs?: unknown): Promise<CommandResult> {
  const args = asArgs(rawArgs);
  const prompt = !args.noPrompt;
  if (!vscode.workspace.isTrusted) return fail(UNTRUSTED, true);
  try {
    const uri = await pickModel(uriArg, prompt);
    if (!uri) return fail('No model.json chosen.', prompt && !!uriArg);
    const options = await resolveOptions(uri.fsPath, args, prompt, { oneShot: true });
    if ('cancelled' in options) return { status: 'cancelled' };
    if ('gradualRecipe' in options) {
      // Prune is one-shot: a recipe written for gradual pruning is not run without its fine-tuning.
      const error = gradualRecipeRefusal(options.gradualRecipe);
      if (prompt) {
        void vscode.window.showErrorMessage(`WoodFisher: ${error}`, GRADUAL_ACTION).then(pick => {
          if (pick === GRADUAL_ACTION)
            void vscode.commands.executeCommand('woodfisher.gradualPrune', uri, { recipePath: options.gradualRecipe });
        });
      }
      return { status: 'error', error };
    }
    if ('error' in options) return fail(options.error, true);
    registry.remember(options);
    return await registry.jobs.run(
      options.modelPath,
      { type: 'start', options },
      { prompt, before: () => showModelBesidePanel(options.modelPath) },
    );
  } catch (e) {
    return fail(messageOf(e), true);
  }
}

export async function rerun(registry: Registry, modelPath: string): Promise<CommandResult> {
  const options = registry.lastOptions(modelPath);
  if (!options) return pruneCommand(registry, vscode.Uri.file(modelPath));
  return registry.jobs.run(modelPath, { type: 'start', options });
}

type Resolved = PruneOptions | { cancelled: true } | { error: string };

const GRADUAL_ACTION = 'Gradual Prune';
export const gradualRecipeRefusal = (recipeFile: string) =>
  `${path.basename(recipeFile)} has a gradual: section, and Prune is one-shot: run it with "Gradual Prune with WoodFisher…" (or remove the section to prune once)`;

/** Model check, then recipe or questions → complete PruneOptions (nothing runs yet). With oneShot, a recipe with a
 *  `gradual:` section is handed back (the caller refuses it) rather than run without its fine-tuning. */
export async function resolveOptions(modelPath: string, args: PruneArgs, prompt: boolean): Promise<Resolved>;
export async function resolveOptions(
  modelPath: string,
  args: PruneArgs,
  prompt: boolean,
  only: { oneShot: true },
): Promise<Resolved | { gradualRecipe: string }>;
export async function resolveOptions(
  modelPath: string,
  args: PruneArgs,
  prompt: boolean,
  { oneShot = false } = {},
): Promise<Resolved | { gradualRecipe: string }> {
  const check = await checkModelJson(modelPath);
  if (!check.ok) return { error: check.message };
  const settings = readSettings(vscode.Uri.file(modelPath));
  const argOptions = definedArgs(args);

  const recipeFile = args.recipePath ?? (await findRecipeForModel(modelPath).catch(() => undefined));
  if (recipeFile) {
    const parsed = await readRecipe(recipeFile);
    if (!parsed) return { error: `Cannot read recipe ${recipeFile}.` };
    const first = parsed.diagnostics.find(d => d.severity === 'error');
    if (first) return { error: `${path.basename(recipeFile)}:${first.line}:${first.column}: ${first.message}` };
    if (oneShot && parsed.recipe.gradual) return { gradualRecipe: recipeFile };
    const overrides: Partial<PruneOptions> = { ...machineOptions(settings), ...argOptions, modelPath };
    const o = recipeToOptions(parsed.recipe, path.dirname(recipeFile), {
      ...overrides,
      outDir:
        argOptions.outDir ??
        (parsed.recipe.output === undefined ? defaultOutDir(modelPath, args.sparsity ?? parsed.recipe.sparsity ?? 0) : undefined),
    });
    return o;
  }

  const base: PruneOptions = {
    ...DEFAULT_OPTIONS,
    ...settingsAsOptions(settings),
    modelPath,
    dataPath: '',
    sparsity: NaN,
    outDir: '',
  } as PruneOptions;
  const target = args.pattern
    ? nmTarget(args.pattern)
    : args.sparsity !== undefined
      ? { sparsity: args.sparsity }
      : prompt
        ? await askSparsity()
        : { sparsity: 0.9 };
  if (target === undefined) return { cancelled: true };
  if ('error' in target) return target;
  const { sparsity, pattern } = target;
  const structure = 'structure' in target ? target.structure : undefined;
  if (!(sparsity >= 0 && sparsity < 1)) return { error: `Sparsity must be in [0, 1); got ${sparsity}.` };
  const method =
    (args.method as Method | undefined) ?? (prompt ? await askMethod(settings.method ?? 'woodfisher') : (settings.method ?? 'woodfisher'));
  if (!method) return { cancelled: true };
  if (!METHOD_NAMES.includes(method)) return { error: `Unknown method "${method}"; use one of ${METHOD_NAMES.join(', ')}.` };
  let dataPath = args.dataPath,
    labelsPath = args.labelsPath;
  if (!dataPath && needsGradients(method)) {
    if (!prompt) return { error: `${method} needs calibration data: pass dataPath (a .npy or .npz file).` };
    const picked = await pickData(modelPath, {
      title: 'WoodFisher: calibration inputs (3/3)',
      placeHolder: '.npy inputs (first axis = samples) or .npz with x and y',
      dialogTitle: 'Calibration data',
      labelsTitle: 'WoodFisher: labels for the calibration data (optional)',
      labelsOptional: { label: 'No labels', detail: "sample labels from the model's own predictions" },
    });
    if (!picked) return { cancelled: true };
    dataPath = picked.dataPath;
    labelsPath = picked.labelsPath;
  }
  const options: PruneOptions = {
    ...base,
    method,
    sparsity,
    pattern,
    dataPath: dataPath ?? '',
    labelsPath,
    ...(structure ? { structure, scope: 'layer' as const } : {}), // units: the same fraction of every layer (docs/structured.md)
    samples: args.samples ?? base.samples,
    outDir: args.outDir ?? defaultOutDir(modelPath, sparsity),
  };
  if (prompt) void offerRecipe(options);
  return options;
}

function definedArgs(a: PruneArgs): Partial<PruneOptions> {
  const o: Partial<PruneOptions> = {};
  if (a.sparsity !== undefined) o.sparsity = a.sparsity;
  if (a.method !== undefined) o.method = a.method as Method;
  if (a.dataPath !== undefined) o.dataPath = path.resolve(a.dataPath);
  if (a.labelsPath !== undefined) o.labelsPath = path.resolve(a.labelsPath);
  if (a.outDir !== undefined) o.outDir = path.resolve(a.outDir);
  if (a.samples !== undefined) o.samples = a.samples;
  return o;
}

/** An N:M pattern and the sparsity it implies. */
function nmTarget(pattern: string): { sparsity: number; pattern: string } | { error: string } {
  try {
    const p = parsePattern(pattern);
    return { sparsity: patternSparsity(p), pattern: `${p.n}:${p.m}` };
  } catch (e) {
    return { error: messageOf(e) };
  }
}

async function askSparsity(): Promise<{ sparsity: number; pattern?: string; structure?: 'neurons' } | undefined> {
  type Item = vscode.QuickPickItem & { value?: number; pattern?: string; units?: number };
  const items: Item[] = [50, 70, 80, 90, 95, 98].map(p => ({ label: `${p}%`, value: p / 100 }));
  items.push({ label: '2:4', description: 'semi-structured: 2 of every 4 consecutive weights (50%)', pattern: '2:4' });
  for (const p of [25, 50])
    items.push({
      label: `${p}% of units`,
      description: 'structured: remove whole neurons and filters — a smaller, faster model',
      units: p / 100,
    });
  items.push({ label: 'Other…' });
  const pick = await vscode.window.showQuickPick(items, {
    title: 'WoodFisher: target sparsity (1/3)',
    placeHolder: 'fraction of prunable weights set to zero',
  });
  if (!pick) return undefined;
  if (pick.pattern) {
    const t = nmTarget(pick.pattern);
    return 'error' in t ? undefined : t;
  }
  if (pick.value !== undefined) return { sparsity: pick.value };
  if (pick.units !== undefined) return { sparsity: pick.units, structure: 'neurons' };
  const text = await vscode.window.showInputBox({
    title: 'WoodFisher: target sparsity',
    prompt: 'Percent (e.g. 92.5) or fraction (e.g. 0.925)',
    validateInput: t => (parseSparsity(t) === undefined ? 'A number in [0, 100) percent, or a fraction in [0, 1)' : undefined),
  });
  const v = text === undefined ? undefined : parseSparsity(text);
  return v === undefined ? undefined : { sparsity: v };
}

async function askMethod(preferred: Method): Promise<Method | undefined> {
  const items = METHOD_NAMES.map(m => ({ label: m, detail: METHODS[m].summary, description: m === preferred ? 'default' : undefined }));
  items.sort((a, b) => Number(b.label === preferred) - Number(a.label === preferred));
  const pick = await vscode.window.showQuickPick(items, { title: 'WoodFisher: method (2/3)' });
  return pick?.label as Method | undefined;
}

async function offerRecipe(o: PruneOptions): Promise<void> {
  const file = path.join(path.dirname(o.modelPath), 'woodfisher.yaml');
  if (await exists(file)) return;
  const choice = await vscode.window.showInformationMessage(
    'Save these answers as a recipe (woodfisher.yaml beside the model)?',
    'Save Recipe',
  );
  if (choice !== 'Save Recipe') return;
  await fs.writeFile(file, recipeYaml(o, path.dirname(file)), { flag: 'wx' }).catch(() => undefined);
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false, viewColumn: vscode.ViewColumn.One, preserveFocus: true });
}

/** The panel opens beside the model's code: show model.json (CodeLenses land there) unless it is visible already. */
async function showModelBesidePanel(modelPath: string): Promise<void> {
  const visible = vscode.window.visibleTextEditors.some(e => path.resolve(e.document.uri.fsPath) === path.resolve(modelPath));
  if (visible) return;
  await vscode.window
    .showTextDocument(vscode.Uri.file(modelPath), { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.One })
    .then(undefined, () => undefined); // a model.json too large for the editor still prunes
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function fail(error: string, show: boolean): CommandResult {
  if (show) void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
  return { status: 'error', error };
}
