// `woodfisher.prune`: a recipe beside the model runs as is; otherwise quick picks for sparsity, calibration
// data and method (then an offer to save the answers as a recipe). Resolves to a CommandResult.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_OPTIONS, type Method, type PruneOptions } from '../protocol';
import { recipeToOptions } from '../engine/recipe';
import type { CommandResult, JobManager } from './jobs';
import { checkModelJson } from './modelFile';
import { defaultOutDir } from './outputDir';
import { pickModel } from './pickModel';
import { findRecipeForModel, readRecipe } from './recipeLookup';
import { machineOptions, readSettings, settingsAsOptions } from './settings';
import { recipeYaml } from './recipeText';

export interface PruneArgs {
  sparsity?: number; pattern?: string; method?: string; dataPath?: string; labelsPath?: string; outDir?: string;
  samples?: number; noPrompt?: boolean; recipePath?: string;
}

const ARG_KEYS = ['sparsity', 'pattern', 'method', 'dataPath', 'labelsPath', 'outDir', 'samples', 'noPrompt', 'recipePath'];

/** Menus pass (uri, uri[]) or (uri, {groupId}); only a plain object with known keys is an options bag. */
export function asArgs(x: unknown): PruneArgs {
  if (!x || typeof x !== 'object' || Array.isArray(x) || x instanceof vscode.Uri) return {};
  return Object.keys(x).some(k => ARG_KEYS.includes(k)) ? x as PruneArgs : {};
}

import { UNTRUSTED } from './runGuard';
export { UNTRUSTED };

export const METHODS: { id: Method; detail: string }[] = [
  { id: 'woodfisher', detail: 'OBS saliency with a blockwise empirical-Fisher inverse (the paper)' },
  { id: 'woodtaylor', detail: 'WoodFisher plus the gradient term' },
  { id: 'diagfisher', detail: 'diagonal Fisher (no off-diagonal terms)' },
  { id: 'magnitude', detail: 'smallest |w| per layer, no data needed' },
  { id: 'global-magnitude', detail: 'smallest |w| over all layers, no data needed' },
];
const needsData = (m: string) => m === 'woodfisher' || m === 'woodtaylor' || m === 'diagfisher';

/** The options of the last run per model, for "Run Again" and the sweep. */
export const lastOptions = new Map<string, PruneOptions>();

export async function pruneCommand(jobs: JobManager, uriArg?: unknown, rawArgs?: unknown): Promise<CommandResult> {
  const args = asArgs(rawArgs);
  const prompt = !args.noPrompt;
  if (!vscode.workspace.isTrusted) return fail(UNTRUSTED, true);
  try {
    const uri = await pickModel(uriArg, prompt);
    if (!uri) return fail('No model.json chosen.', prompt && !!uriArg);
    const options = await resolveOptions(uri.fsPath, args, prompt);
    if ('cancelled' in options) return { status: 'cancelled' };
    if ('error' in options) return fail(options.error, true);
    lastOptions.set(path.resolve(options.modelPath), options);
    return await jobs.run(options.modelPath, { type: 'start', options }, { prompt, before: () => showModelBesidePanel(options.modelPath) });
  } catch (e) {
    return fail(messageOf(e), true);
  }
}

export async function rerun(jobs: JobManager, modelPath: string): Promise<CommandResult> {
  const options = lastOptions.get(path.resolve(modelPath));
  if (!options) return pruneCommand(jobs, vscode.Uri.file(modelPath));
  return jobs.run(modelPath, { type: 'start', options });
}

type Resolved = PruneOptions | { cancelled: true } | { error: string };

/** Model check, then recipe or questions → complete PruneOptions (nothing runs yet). */
export async function resolveOptions(modelPath: string, args: PruneArgs, prompt: boolean): Promise<Resolved> {
  const check = await checkModelJson(modelPath);
  if (!check.ok) return { error: check.message };
  const settings = readSettings(vscode.Uri.file(modelPath));
  const argOptions = definedArgs(args);

  const recipeFile = args.recipePath ?? await findRecipeForModel(modelPath).catch(() => undefined);
  if (recipeFile) {
    const parsed = await readRecipe(recipeFile);
    if (!parsed) return { error: `Cannot read recipe ${recipeFile}.` };
    const first = parsed.diagnostics.find(d => d.severity === 'error');
    if (first) return { error: `${path.basename(recipeFile)}:${first.line}:${first.column}: ${first.message}` };
    const overrides: Partial<PruneOptions> = { ...machineOptions(settings), ...argOptions, modelPath };
    const o = recipeToOptions(parsed.recipe, path.dirname(recipeFile), {
      ...overrides,
      outDir: argOptions.outDir ?? (parsed.recipe.output === undefined ? defaultOutDir(modelPath, args.sparsity ?? parsed.recipe.sparsity ?? 0) : undefined),
    });
    return o;
  }

  const base: PruneOptions = {
    ...DEFAULT_OPTIONS, ...settingsAsOptions(settings), modelPath, dataPath: '', sparsity: NaN, outDir: '',
  } as PruneOptions;
  const target = args.pattern ? nmTarget(args.pattern) : args.sparsity !== undefined ? { sparsity: args.sparsity } : prompt ? await askSparsity() : { sparsity: 0.9 };
  if (target === undefined) return { cancelled: true };
  if ('error' in target) return target;
  const { sparsity, pattern } = target;
  const structure = 'structure' in target ? target.structure : undefined;
  if (!(sparsity >= 0 && sparsity < 1)) return { error: `Sparsity must be in [0, 1); got ${sparsity}.` };
  let method = (args.method as Method | undefined) ?? (prompt ? await askMethod(settings.method ?? 'woodfisher') : (settings.method ?? 'woodfisher'));
  if (!method) return { cancelled: true };
  if (!METHODS.some(m => m.id === method)) return { error: `Unknown method "${method}"; use one of ${METHODS.map(m => m.id).join(', ')}.` };
  let dataPath = args.dataPath, labelsPath = args.labelsPath;
  if (!dataPath && needsData(method)) {
    if (!prompt) return { error: `${method} needs calibration data: pass dataPath (a .npy or .npz file).` };
    const picked = await askData(modelPath);
    if (!picked) return { cancelled: true };
    dataPath = picked.dataPath; labelsPath = picked.labelsPath;
  }
  const options: PruneOptions = {
    ...base, method, sparsity, pattern, dataPath: dataPath ?? '', labelsPath,
    ...(structure ? { structure, scope: 'layer' as const } : {}),   // units: the same fraction of every layer (docs/structured.md)
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

/** An N:M pattern and the sparsity it implies, (M − N)/M. */
function nmTarget(pattern: string): { sparsity: number; pattern: string } | { error: string } {
  const g = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(pattern);
  const n = Number(g?.[1]), m = Number(g?.[2]);
  return g && n >= 1 && n < m ? { sparsity: (m - n) / m, pattern: `${n}:${m}` } : { error: `Pattern must be N:M with 1 ≤ N < M, e.g. 2:4; got "${pattern}".` };
}

async function askSparsity(): Promise<{ sparsity: number; pattern?: string; structure?: 'neurons' } | undefined> {
  type Item = vscode.QuickPickItem & { value?: number; pattern?: string; units?: number };
  const items: Item[] = [50, 70, 80, 90, 95, 98].map(p => ({ label: `${p}%`, value: p / 100 }));
  items.push({ label: '2:4', description: 'semi-structured: 2 of every 4 consecutive weights (50%)', pattern: '2:4' });
  for (const p of [25, 50]) items.push({ label: `${p}% of units`, description: 'structured: remove whole neurons and filters — a smaller, faster model', units: p / 100 });
  items.push({ label: 'Other…' });
  const pick = await vscode.window.showQuickPick(items, { title: 'WoodFisher: target sparsity (1/3)', placeHolder: 'fraction of prunable weights set to zero' });
  if (!pick) return undefined;
  if (pick.pattern) { const t = nmTarget(pick.pattern); return 'error' in t ? undefined : t; }
  if (pick.value !== undefined) return { sparsity: pick.value };
  if (pick.units !== undefined) return { sparsity: pick.units, structure: 'neurons' };
  const text = await vscode.window.showInputBox({
    title: 'WoodFisher: target sparsity', prompt: 'Percent (e.g. 92.5) or fraction (e.g. 0.925)',
    validateInput: t => parseSparsity(t) === undefined ? 'A number in [0, 100) percent, or a fraction in [0, 1)' : undefined,
  });
  const v = text === undefined ? undefined : parseSparsity(text);
  return v === undefined ? undefined : { sparsity: v };
}

export function parseSparsity(t: string): number | undefined {
  const m = /^\s*([\d.]+)\s*(%?)\s*$/.exec(t);
  if (!m) return undefined;
  let v = Number(m[1]);
  if (!Number.isFinite(v)) return undefined;
  if (m[2] || v >= 1) v /= 100;
  return v >= 0 && v < 1 ? v : undefined;
}

async function askMethod(preferred: Method): Promise<Method | undefined> {
  const items = METHODS.map(m => ({ label: m.id, detail: m.detail, description: m.id === preferred ? 'default' : undefined }));
  items.sort((a, b) => Number(b.label === preferred) - Number(a.label === preferred));
  const pick = await vscode.window.showQuickPick(items, { title: 'WoodFisher: method (2/3)' });
  return pick?.label as Method | undefined;
}

async function askData(modelPath: string): Promise<{ dataPath: string; labelsPath?: string } | undefined> {
  const found = await vscode.workspace.findFiles('**/*.{npy,npz}', '**/node_modules/**', 100);
  type Item = vscode.QuickPickItem & { fsPath?: string };
  const items: Item[] = found.map(u => ({ label: vscode.workspace.asRelativePath(u), fsPath: u.fsPath }));
  items.push({ label: '$(folder-opened) Browse…' });
  const pick = await vscode.window.showQuickPick(items, { title: 'WoodFisher: calibration inputs (3/3)', placeHolder: '.npy inputs (first axis = samples) or .npz with x and y' });
  if (!pick) return undefined;
  let dataPath = pick.fsPath;
  if (!dataPath) {
    const chosen = await vscode.window.showOpenDialog({
      title: 'Calibration data', canSelectMany: false, defaultUri: vscode.Uri.file(path.dirname(modelPath)), filters: { 'NumPy arrays': ['npy', 'npz'] },
    });
    dataPath = chosen?.[0]?.fsPath;
  }
  if (!dataPath) return undefined;
  if (dataPath.toLowerCase().endsWith('.npz')) return { dataPath };
  const labelItems: Item[] = [{ label: 'No labels', detail: 'sample labels from the model\'s own predictions' },
    ...items.filter(i => i.fsPath && i.fsPath !== dataPath && i.fsPath.toLowerCase().endsWith('.npy'))];
  labelItems.sort((a, b) => Number(/label|[-_]y\b/i.test(b.label)) - Number(/label|[-_]y\b/i.test(a.label)));
  const lp = await vscode.window.showQuickPick(labelItems, { title: 'WoodFisher: labels for the calibration data (optional)' });
  if (!lp) return undefined;
  return { dataPath, labelsPath: lp.fsPath };
}

async function offerRecipe(o: PruneOptions): Promise<void> {
  const file = path.join(path.dirname(o.modelPath), 'woodfisher.yaml');
  if (await exists(file)) return;
  const choice = await vscode.window.showInformationMessage('Save these answers as a recipe (woodfisher.yaml beside the model)?', 'Save Recipe');
  if (choice !== 'Save Recipe') return;
  await fs.writeFile(file, recipeYaml(o, path.dirname(file)), { flag: 'wx' }).catch(() => undefined);
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false, viewColumn: vscode.ViewColumn.One, preserveFocus: true });
}

/** The panel opens beside the model's code: show model.json (CodeLenses land there) unless it is visible already. */
async function showModelBesidePanel(modelPath: string): Promise<void> {
  const visible = vscode.window.visibleTextEditors.some(e => path.resolve(e.document.uri.fsPath) === path.resolve(modelPath));
  if (visible) return;
  await vscode.window.showTextDocument(vscode.Uri.file(modelPath), { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.One })
    .then(undefined, () => undefined); // a model.json too large for the editor still prunes
}

async function exists(p: string): Promise<boolean> { try { await fs.access(p); return true; } catch { return false; } }

function fail(error: string, show: boolean): CommandResult {
  if (show) void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
  return { status: 'error', error };
}

export function messageOf(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as Error).message === 'string') return (e as Error).message.split('\n')[0];
  return String(e);
}
