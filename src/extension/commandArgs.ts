// The arguments commands take from menus, keybindings and tests, and how they report failures. No vscode import.

/** The options bag of `woodfisher.prune` (and, with more, `woodfisher.sweep`). */
export interface PruneArgs {
  sparsity?: number;
  pattern?: string;
  method?: string;
  dataPath?: string;
  labelsPath?: string;
  outDir?: string;
  samples?: number;
  noPrompt?: boolean;
  recipePath?: string;
}

const ARG_KEYS = ['sparsity', 'pattern', 'method', 'dataPath', 'labelsPath', 'outDir', 'samples', 'noPrompt', 'recipePath'];

/** Menus pass (uri, uri[]) or (uri, {groupId}); only a plain object with known keys is an options bag. */
export function asArgs(x: unknown): PruneArgs {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return {};
  return Object.keys(x).some(k => ARG_KEYS.includes(k)) ? (x as PruneArgs) : {};
}

export const UNTRUSTED = 'Pruning is disabled in Restricted Mode: trust this workspace to run it (recipes name files to read and write).';

/** "92.5", "92.5%" or "0.925" → 0.925; undefined unless in [0, 1). */
export function parseSparsity(t: string): number | undefined {
  const m = /^\s*([\d.]+)\s*(%?)\s*$/.exec(t);
  if (!m) return undefined;
  let v = Number(m[1]);
  if (!Number.isFinite(v)) return undefined;
  if (m[2] || v >= 1) v /= 100;
  return v >= 0 && v < 1 ? v : undefined;
}

/** The first line of an error's message: what the user sees. */
export function messageOf(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as Error).message === 'string') return (e as Error).message.split('\n')[0];
  return String(e);
}
