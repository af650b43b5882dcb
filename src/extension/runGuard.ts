// Before a job starts: the workspace is trusted (checked again for Run Again and the panel's buttons), and an output
// outside the workspace folders — a recipe may name any folder — is written only after the user says so.
import * as vscode from 'vscode';
import { isInside, realish } from '../engine/output/claim';

import { UNTRUSTED } from './commandArgs';

export { UNTRUSTED };

export type Refusal = { status: 'error'; error: string } | { status: 'cancelled' };

/** undefined: go ahead; otherwise why not. `prompt` false (tests, noPrompt): outside the workspace is refused. */
export async function checkRun(outDir: string, prompt: boolean): Promise<Refusal | undefined> {
  if (!vscode.workspace.isTrusted) return { status: 'error', error: UNTRUSTED };
  if (isInWorkspace(outDir)) return undefined;
  const where = `WoodFisher would write its output to ${outDir}, outside the workspace folders.`;
  if (!prompt) return { status: 'error', error: `${where} Choose an output folder inside the workspace.` };
  const answer = await vscode.window.showWarningMessage(
    where,
    {
      modal: true,
      detail: 'Recipes can name any folder. WoodFisher never replaces files it did not write, but check the path before you go on.',
    },
    'Write There',
  );
  return answer === 'Write There' ? undefined : { status: 'cancelled' };
}

export function isInWorkspace(p: string): boolean {
  const target = realish(p);
  return (vscode.workspace.workspaceFolders ?? []).some(f => f.uri.scheme === 'file' && isInside(target, realish(f.uri.fsPath)));
}
