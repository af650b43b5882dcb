// Where results go by default: `<model folder>/../<model folder name>-pruned-<sparsity%>`.
import * as path from 'node:path';

export function formatPercent(sparsity: number): string {
  const pct = Math.round(sparsity * 1000) / 10;
  return Number.isInteger(pct) ? String(pct) : pct.toFixed(1);
}

export function defaultOutDir(modelPath: string, sparsity: number): string {
  const folder = path.dirname(modelPath);
  return path.join(path.dirname(folder), `${path.basename(folder)}-pruned-${formatPercent(sparsity)}`);
}

export function defaultSweepDir(modelPath: string, gradual = false): string {
  const folder = path.dirname(modelPath);
  return path.join(path.dirname(folder), `${path.basename(folder)}-${gradual ? 'gradual-' : ''}sweep`);
}

export function modelFolderName(modelPath: string): string {
  return path.basename(path.dirname(modelPath));
}
