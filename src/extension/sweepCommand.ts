// `woodfisher.sweep`: the same run at several sparsities (and methods) in the worker; the panel draws
// accuracy vs sparsity per method.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Method } from '../protocol';
import type { CommandResult } from './jobs';
import { defaultSweepDir } from './outputDir';
import { pickModel } from './pickModel';
import { METHODS } from '../engine/methods';
import { METHOD_NAMES } from '../engine/types';
import { asArgs, messageOf, UNTRUSTED, type PruneArgs } from './commandArgs';
import { resolveOptions } from './pruneCommand';
import type { Registry } from './registry';

export interface SweepArgs extends PruneArgs {
  sparsities?: number[];
  methods?: string[];
}

const DEFAULT_SPARSITIES = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98];

export async function sweepCommand(registry: Registry, uriArg?: unknown, rawArgs?: unknown): Promise<CommandResult> {
  const raw = (rawArgs && typeof rawArgs === 'object' && !Array.isArray(rawArgs) ? rawArgs : {}) as SweepArgs;
  const args: SweepArgs = { ...asArgs(rawArgs), sparsities: raw.sparsities, methods: raw.methods };
  const prompt = !args.noPrompt;
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage(`WoodFisher: ${UNTRUSTED}`);
    return { status: 'error', error: UNTRUSTED };
  }
  try {
    const uri = await pickModel(uriArg, prompt, 'WoodFisher sweep: choose the model.json');
    if (!uri) return { status: 'error', error: 'No model.json chosen.' };
    const known = registry.lastOptions(uri.fsPath);
    const base = known ?? (await resolveOptions(uri.fsPath, { ...args, sparsity: args.sparsity ?? 0.9 }, prompt));
    if ('cancelled' in base) return { status: 'cancelled' };
    if ('error' in base) {
      void vscode.window.showErrorMessage(`WoodFisher: ${base.error}`);
      return { status: 'error', error: base.error };
    }

    let sparsities = args.sparsities;
    if (!sparsities && prompt) {
      const picks = await vscode.window.showQuickPick(
        DEFAULT_SPARSITIES.map(s => ({ label: `${s * 100}%`, value: s, picked: true })),
        { title: 'WoodFisher sweep: sparsities', canPickMany: true },
      );
      if (!picks) return { status: 'cancelled' };
      sparsities = picks.map(p => p.value);
    }
    let methods = args.methods as Method[] | undefined;
    if (!methods && prompt) {
      const picks = await vscode.window.showQuickPick(
        METHOD_NAMES.map(m => ({ label: m, detail: METHODS[m].summary, picked: m === base.method || m === 'global-magnitude' })),
        { title: 'WoodFisher sweep: methods to compare', canPickMany: true },
      );
      if (!picks) return { status: 'cancelled' };
      methods = picks.map(p => p.label as Method);
    }
    sparsities = (sparsities ?? DEFAULT_SPARSITIES).filter(s => s >= 0 && s < 1).sort((a, b) => a - b);
    methods = methods?.length ? methods : [base.method];
    if (!sparsities.length) return { status: 'error', error: 'No sparsity to sweep.' };
    if (!base.evalPath)
      void vscode.window.showWarningMessage('WoodFisher: no evaluation data (`eval:` in a recipe) — the sweep cannot measure accuracy.');
    const options = { ...base, outDir: args.outDir ? path.resolve(args.outDir) : defaultSweepDir(base.modelPath) };
    return await registry.jobs.run(options.modelPath, { type: 'sweep', options, sparsities, methods }, { prompt });
  } catch (e) {
    const error = messageOf(e);
    void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
    return { status: 'error', error };
  }
}
