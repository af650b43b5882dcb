// `woodfisher.sweep`: the same run at several sparsities (and methods) in the worker; the panel draws
// accuracy vs sparsity per method. One-shot, or gradual (every point fine-tuned on the same schedule and epochs): asked
// first (gradual on top after a gradual run or beside a `gradual:` recipe), or given as `gradual: true | false`.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GradualOptions, GradualSettings, Method, PruneOptions } from '../protocol';
import type { CommandResult } from './jobs';
import { defaultSweepDir } from './outputDir';
import { pickModel } from './pickModel';
import { METHODS } from '../engine/methods';
import { METHOD_NAMES } from '../engine/types';
import { findRecipeForModel, gradualSettings } from '../engine/recipe';
import { resolveGradual, type GradualArgs } from './gradualCommand';
import { readRecipe } from './recipeLookup';
import { asArgs, messageOf, UNTRUSTED, type PruneArgs } from './commandArgs';
import { resolveOptions } from './pruneCommand';
import type { Registry } from './registry';

export interface SweepArgs extends PruneArgs {
  sparsities?: number[];
  methods?: string[];
  /** Every point a gradual run: the model's last gradual run's settings, else its recipe's `gradual:`, else these. */
  gradual?: boolean;
  trainPath?: string;
  trainLabelsPath?: string;
  epochs?: number;
}

const DEFAULT_SPARSITIES = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98];
const GRADUAL_SPARSITIES = [0.8, 0.9, 0.95, 0.98];
const GRADUAL_PICKED = [0.95, 0.98]; // each point a whole gradual run: preselect where it pays

export async function sweepCommand(registry: Registry, uriArg?: unknown, rawArgs?: unknown): Promise<CommandResult> {
  const raw = (rawArgs && typeof rawArgs === 'object' && !Array.isArray(rawArgs) ? rawArgs : {}) as SweepArgs;
  const args: SweepArgs = {
    ...asArgs(rawArgs),
    sparsities: raw.sparsities,
    methods: raw.methods,
    gradual: raw.gradual,
    trainPath: raw.trainPath,
    trainLabelsPath: raw.trainLabelsPath,
    epochs: raw.epochs,
  };
  const prompt = !args.noPrompt;
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage(`WoodFisher: ${UNTRUSTED}`);
    return { status: 'error', error: UNTRUSTED };
  }
  try {
    const uri = await pickModel(uriArg, prompt, 'WoodFisher sweep: choose the model.json');
    if (!uri) return { status: 'error', error: 'No model.json chosen.' };
    const outDir = (gradual: boolean) => (args.outDir ? path.resolve(args.outDir) : defaultSweepDir(uri.fsPath, gradual));
    const kind = await sweepKind(registry, uri.fsPath, args, prompt);
    if (!kind) return { status: 'cancelled' };
    const gradualBase = kind === 'gradual' ? await gradualBaseOf(registry, uri.fsPath, args, prompt, outDir(true)) : undefined;
    const known = registry.lastOptions(uri.fsPath);
    const base = gradualBase ?? known ?? (await resolveOptions(uri.fsPath, { ...args, sparsity: args.sparsity ?? 0.9 }, prompt));
    if ('cancelled' in base) return { status: 'cancelled' };
    if ('error' in base) {
      void vscode.window.showErrorMessage(`WoodFisher: ${base.error}`);
      return { status: 'error', error: base.error };
    }

    let sparsities = args.sparsities;
    if (!sparsities && prompt) {
      const picks = await vscode.window.showQuickPick(
        (kind === 'gradual' ? GRADUAL_SPARSITIES : DEFAULT_SPARSITIES).map(s => ({
          label: `${s * 100}%`,
          value: s,
          picked: kind !== 'gradual' || GRADUAL_PICKED.includes(s),
        })),
        { title: `WoodFisher ${kind === 'gradual' ? 'gradual ' : ''}sweep: sparsities`, canPickMany: true },
      );
      if (!picks) return { status: 'cancelled' };
      sparsities = picks.map(p => p.value);
    }
    let methods = args.methods as Method[] | undefined;
    if (!methods && prompt) {
      const picks = await vscode.window.showQuickPick(
        METHOD_NAMES.map(m => ({ label: m, detail: METHODS[m].summary, picked: m === base.method || m === 'global-magnitude' })),
        { title: `WoodFisher ${kind === 'gradual' ? 'gradual ' : ''}sweep: methods to compare`, canPickMany: true },
      );
      if (!picks) return { status: 'cancelled' };
      methods = picks.map(p => p.label as Method);
    }
    sparsities = (sparsities ?? DEFAULT_SPARSITIES).filter(s => s >= 0 && s < 1).sort((a, b) => a - b);
    methods = methods?.length ? methods : [base.method];
    if (!sparsities.length) {
      void vscode.window.showErrorMessage('WoodFisher: no sparsity to sweep (pick at least one).');
      return { status: 'error', error: 'No sparsity to sweep.' };
    }
    if (!base.evalPath)
      void vscode.window.showWarningMessage('WoodFisher: no evaluation data (`eval:` in a recipe) — the sweep cannot measure accuracy.');
    const gradual: GradualSettings | undefined = kind === 'gradual' ? gradualSettings(base as GradualOptions) : undefined;
    const options: PruneOptions = { ...base, outDir: outDir(!!gradual), ...(gradual ? { resume: undefined } : {}) };
    return await registry.jobs.run(options.modelPath, { type: 'sweep', options, sparsities, methods, gradual }, { prompt });
  } catch (e) {
    const error = messageOf(e);
    void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
    return { status: 'error', error };
  }
}

/** One-shot or gradual: the argument, else a question — gradual first where the model's panel shows a gradual run,
 *  the model had one in this window, or its recipe has a `gradual:` section. */
async function sweepKind(
  registry: Registry,
  modelPath: string,
  args: SweepArgs,
  prompt: boolean,
): Promise<'one-shot' | 'gradual' | undefined> {
  if (args.gradual !== undefined) return args.gradual ? 'gradual' : 'one-shot';
  if (!prompt) return 'one-shot';
  const last = registry.lastGradual(modelPath);
  const recipeFile = last ? undefined : await findRecipeForModel(modelPath).catch(() => undefined);
  const recipe = recipeFile ? (await readRecipe(recipeFile))?.recipe : undefined;
  const epochs = last?.epochs ?? recipe?.gradual?.epochs;
  const like = last
    ? ', as the last gradual run'
    : recipe?.gradual
      ? `, as ${path.basename(recipeFile!)}'s gradual: section`
      : ' (asks for the training data)';
  const items = [
    { label: 'One-shot', sweep: 'one-shot' as const, detail: 'every point pruned once from the trained weights (seconds each)' },
    {
      label: 'Gradual',
      sweep: 'gradual' as const,
      detail: `every point pruned on the schedule with fine-tuning${epochs ? `, ${epochs} epochs each` : ''}${like} — methods compared at equal epochs`,
    },
  ];
  if (last || recipe?.gradual || registry.panels.snapshotOf(modelPath)?.mode === 'gradual') items.reverse();
  const pick = await vscode.window.showQuickPick(items, { title: 'WoodFisher sweep: one-shot or gradual?' });
  return pick?.sweep;
}

/** The gradual points' common options: the model's last gradual run in this window, else its recipe / the arguments
 *  (resolveGradual asks for training data and epochs where neither gives them). */
async function gradualBaseOf(registry: Registry, modelPath: string, args: SweepArgs, prompt: boolean, outDir: string) {
  const last = registry.lastGradual(modelPath);
  const given: GradualArgs = {
    sparsity: 0.9,
    outDir,
    trainPath: args.trainPath,
    trainLabelsPath: args.trainLabelsPath,
    epochs: args.epochs,
    recipePath: args.recipePath,
    noPrompt: !prompt,
    samples: args.samples,
  };
  if (last && args.trainPath === undefined && args.epochs === undefined) return { ...last, outDir };
  return resolveGradual(modelPath, given, prompt);
}
