// `woodfisher.gradualPrune` (Gradual Prune with WoodFisher…): a recipe beside the model with a `gradual:` section runs
// as is; otherwise quick picks for the training data, the sparsity and the epochs (everything else: the defaults).
// An unfinished run's checkpoint in the output folder is offered for resuming.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_OPTIONS, type GradualOptions, type Method } from '../protocol';
import { findRecipeForModel, recipeToGradualOptions } from '../engine/recipe';
import { METHOD_NAMES } from '../engine/types';
import { messageOf, parseSparsity, UNTRUSTED } from './commandArgs';
import { pickData } from './pickData';
import type { CommandResult } from './jobs';
import { checkModelJson } from './modelFile';
import { formatPercent } from './outputDir';
import { pickModel } from './pickModel';
import { readRecipe } from './recipeLookup';
import { machineOptions, readSettings, settingsAsOptions } from './settings';
import type { Registry } from './registry';

export interface GradualArgs {
  sparsity?: number;
  epochs?: number;
  method?: string;
  trainPath?: string;
  trainLabelsPath?: string;
  evalPath?: string;
  evalLabelsPath?: string;
  outDir?: string;
  samples?: number;
  batchSize?: number;
  lr?: number;
  resume?: boolean;
  noPrompt?: boolean;
  recipePath?: string;
}

export function defaultGradualOutDir(modelPath: string, sparsity: number): string {
  const folder = path.dirname(modelPath);
  return path.join(path.dirname(folder), `${path.basename(folder)}-gradual-${formatPercent(sparsity)}`);
}

export async function gradualCommand(registry: Registry, uriArg?: unknown, rawArgs?: unknown): Promise<CommandResult> {
  const args = (
    rawArgs && typeof rawArgs === 'object' && !Array.isArray(rawArgs) && !(rawArgs instanceof vscode.Uri) ? rawArgs : {}
  ) as GradualArgs;
  const prompt = !args.noPrompt;
  const fail = (error: string): CommandResult => {
    void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
    return { status: 'error', error };
  };
  if (!vscode.workspace.isTrusted) return fail(UNTRUSTED);
  try {
    const uri = await pickModel(uriArg, prompt, 'WoodFisher gradual pruning: choose the model.json');
    if (!uri) return { status: 'error', error: 'No model.json chosen.' };
    const options = await resolveGradual(uri.fsPath, args, prompt);
    if ('cancelled' in options) return { status: 'cancelled' };
    if ('error' in options) return fail(options.error);
    registry.rememberGradual(options);
    return await registry.jobs.run(options.modelPath, { type: 'gradual', options });
  } catch (e) {
    return fail(messageOf(e));
  }
}

export async function rerunGradual(registry: Registry, modelPath: string): Promise<CommandResult | undefined> {
  const o = registry.lastGradual(modelPath);
  return o ? registry.jobs.run(modelPath, { type: 'gradual', options: { ...o, resume: false, outDir: freshFolder(o.outDir) } }) : undefined;
}

type Resolved = GradualOptions | { cancelled: true } | { error: string };

/** Model check, then a recipe's `gradual:` section or quick picks → complete GradualOptions (also the gradual sweep's base). */
export async function resolveGradual(modelPath: string, args: GradualArgs, prompt: boolean): Promise<Resolved> {
  const check = await checkModelJson(modelPath);
  if (!check.ok) return { error: check.message };
  const settings = readSettings(vscode.Uri.file(modelPath));
  const given: Partial<GradualOptions> = defined({
    sparsity: args.sparsity,
    epochs: args.epochs,
    method: args.method as Method | undefined,
    dataPath: abs(args.trainPath),
    labelsPath: abs(args.trainLabelsPath),
    evalPath: abs(args.evalPath),
    evalLabelsPath: abs(args.evalLabelsPath),
    outDir: abs(args.outDir),
    samples: args.samples,
    batchSize: args.batchSize,
    lr: args.lr,
  });

  const recipeFile = args.recipePath ?? (await findRecipeForModel(modelPath).catch(() => undefined));
  const parsed = recipeFile ? await readRecipe(recipeFile) : undefined;
  let o: GradualOptions;
  if (recipeFile && parsed?.recipe.gradual) {
    const first = parsed.diagnostics.find(d => d.severity === 'error');
    if (first) return { error: `${path.basename(recipeFile)}:${first.line}:${first.column}: ${first.message}` };
    const sparsity = given.sparsity ?? parsed.recipe.sparsity;
    o = recipeToGradualOptions(parsed.recipe, path.dirname(recipeFile), {
      ...machineOptions(settings),
      ...given,
      modelPath,
      outDir: given.outDir ?? (parsed.recipe.output === undefined ? defaultGradualOutDir(modelPath, sparsity ?? 0) : undefined),
    });
  } else {
    let dataPath = given.dataPath,
      labelsPath = given.labelsPath;
    if (!dataPath) {
      if (!prompt)
        return { error: 'gradual pruning needs training data: pass trainPath (a .npy or .npz file), or a recipe with a gradual: section.' };
      const picked = await pickData(modelPath, {
        title: 'WoodFisher gradual: training data (1/3)',
        placeHolder: '.npz with x and y, or .npy inputs (read batch by batch); calibration samples are drawn from it',
        dialogTitle: 'Training data',
        prefer: /train/i,
        labelsTitle: 'WoodFisher gradual: labels of the training data',
      });
      if (!picked) return { cancelled: true };
      ({ dataPath, labelsPath } = picked);
    }
    const sparsity = given.sparsity ?? (prompt ? await askSparsity() : 0.9);
    if (sparsity === undefined) return { cancelled: true };
    const epochs = given.epochs ?? (prompt ? await askEpochs() : 12);
    if (epochs === undefined) return { cancelled: true };
    const evalSet = given.evalPath ? { evalPath: given.evalPath, evalLabelsPath: given.evalLabelsPath } : await guessEval(dataPath!);
    o = recipeToGradualOptions({}, path.dirname(modelPath), {
      ...DEFAULT_OPTIONS,
      ...settingsAsOptions(settings),
      ...evalSet,
      ...given,
      modelPath,
      dataPath,
      labelsPath,
      sparsity,
      epochs,
      method: given.method ?? settings.method ?? 'woodfisher',
      outDir: given.outDir ?? defaultGradualOutDir(modelPath, sparsity),
    });
  }
  if (!METHOD_NAMES.includes(o.method)) return { error: `Unknown method "${o.method}".` };
  // An unfinished run in the output folder: resume it, or start over beside it (its checkpoint is never overwritten).
  if (fs.existsSync(path.join(o.outDir, 'checkpoint.json'))) {
    if (args.resume !== undefined || !prompt) return args.resume ? { ...o, resume: true } : { ...o, outDir: freshFolder(o.outDir) };
    const pick = await vscode.window.showQuickPick(
      [
        { label: 'Resume', detail: `continue the unfinished run in ${path.basename(o.outDir)} from its last checkpoint`, resume: true },
        { label: 'Start over', detail: 'a new run in a new folder beside it (the checkpoint stays)', resume: false },
      ],
      { title: 'WoodFisher: an unfinished gradual run is in the output folder' },
    );
    if (!pick) return { cancelled: true };
    return pick.resume ? { ...o, resume: true } : { ...o, outDir: freshFolder(o.outDir) };
  }
  return o;
}

function freshFolder(dir: string): string {
  for (let i = 2; ; i++) if (!fs.existsSync(`${dir}-${i}`)) return `${dir}-${i}`;
}

const abs = (p?: string) => (p === undefined ? undefined : path.resolve(p));
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function askSparsity(): Promise<number | undefined> {
  const items = [80, 90, 95, 98].map(p => ({ label: `${p}%`, value: (p / 100) as number | undefined }));
  items.push({ label: 'Other…', value: undefined });
  const pick = await vscode.window.showQuickPick(items, { title: 'WoodFisher gradual: final sparsity (2/3)' });
  if (!pick) return undefined;
  if (pick.value !== undefined) return pick.value;
  const text = await vscode.window.showInputBox({
    title: 'Final sparsity',
    prompt: 'Percent (e.g. 92.5) or fraction (e.g. 0.925)',
    validateInput: t => (parseSparsity(t) === undefined ? 'A number in [0, 100) percent, or a fraction in [0, 1)' : undefined),
  });
  return text === undefined ? undefined : parseSparsity(text);
}

async function askEpochs(): Promise<number | undefined> {
  const pick = await vscode.window.showQuickPick(
    [6, 12, 24].map(e => ({ label: `${e} epochs`, value: e, detail: `prune at epochs 0, ${e / 6}, ${e / 3}, ${e / 2}, then fine-tune` })),
    { title: 'WoodFisher gradual: epochs (3/3)' },
  );
  return pick?.value;
}

/** Held-out data beside the training data (test-x.npy + test-y.npy, or test.npz), for the eval curves. */
async function guessEval(trainPath: string): Promise<{ evalPath?: string; evalLabelsPath?: string }> {
  const dir = path.dirname(trainPath);
  const x = ['test-x.npy', 'eval-x.npy', 'val-x.npy'].map(f => path.join(dir, f)).find(f => fs.existsSync(f));
  if (x) {
    const y = x.replace(/-x\.npy$/, '-y.npy');
    return fs.existsSync(y) ? { evalPath: x, evalLabelsPath: y } : {};
  }
  const npz = ['test.npz', 'eval.npz', 'val.npz'].map(f => path.join(dir, f)).find(f => fs.existsSync(f));
  return npz ? { evalPath: npz } : {};
}
