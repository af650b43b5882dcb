// `woodfisher.sensitivity`: each prunable layer pruned alone to a few sparsities in the worker (engine/sensitivity.ts),
// loss and accuracy per (layer, sparsity) into the panel's sensitivity section. Writes nothing.
import * as vscode from 'vscode';
import type { CommandResult } from './jobs';
import { pickModel } from './pickModel';
import { asArgs, messageOf, UNTRUSTED, type PruneArgs } from './commandArgs';
import { resolveOptions } from './pruneCommand';
import type { Registry } from './registry';

export interface SensitivityArgs extends PruneArgs {
  sparsities?: number[];
  layers?: string[];
}

export const SENSITIVITY_CHOICES = [0.5, 0.75, 0.9, 0.95, 0.98];
const PRESELECTED = new Set([0.5, 0.75, 0.9, 0.95]);

export async function sensitivityCommand(registry: Registry, uriArg?: unknown, rawArgs?: unknown): Promise<CommandResult> {
  const raw = (rawArgs && typeof rawArgs === 'object' && !Array.isArray(rawArgs) ? rawArgs : {}) as SensitivityArgs;
  const args = asArgs(rawArgs);
  const prompt = !args.noPrompt;
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage(`WoodFisher: ${UNTRUSTED}`);
    return { status: 'error', error: UNTRUSTED };
  }
  try {
    const uri = await pickModel(uriArg, prompt, 'WoodFisher layer sensitivity: choose the model.json');
    if (!uri) return { status: 'error', error: 'No model.json chosen.' };
    const known = registry.lastOptions(uri.fsPath);
    const base =
      known && !Object.keys(args).some(k => k !== 'noPrompt')
        ? known
        : await resolveOptions(uri.fsPath, { ...args, sparsity: args.sparsity ?? 0.9 }, prompt);
    if ('cancelled' in base) return { status: 'cancelled' };
    if ('error' in base) {
      void vscode.window.showErrorMessage(`WoodFisher: ${base.error}`);
      return { status: 'error', error: base.error };
    }
    let sparsities = raw.sparsities;
    if (!sparsities && prompt) {
      const picks = await vscode.window.showQuickPick(
        SENSITIVITY_CHOICES.map(s => ({ label: `${s * 100}%`, value: s, picked: PRESELECTED.has(s) })),
        { title: `WoodFisher layer sensitivity (${base.method}): prune each layer alone to`, canPickMany: true },
      );
      if (!picks) return { status: 'cancelled' };
      sparsities = picks.map(p => p.value);
    }
    sparsities = (sparsities ?? [...PRESELECTED]).filter(s => s > 0 && s < 1).sort((a, b) => a - b);
    if (!sparsities.length) return { status: 'error', error: 'No sparsity to scan.' };
    return await registry.jobs.run(base.modelPath, { type: 'sensitivity', options: base, sparsities, layers: raw.layers });
  } catch (e) {
    const error = messageOf(e);
    void vscode.window.showErrorMessage(`WoodFisher: ${error}`);
    return { status: 'error', error };
  }
}
