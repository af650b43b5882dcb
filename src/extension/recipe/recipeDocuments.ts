// Which documents are recipes, and where the cursor is inside a YAML recipe (its key path).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RECIPE_FILE } from '../../engine/recipe';

export const RECIPE_SELECTOR: vscode.DocumentSelector = [
  { language: 'yaml', pattern: '**/{woodfisher.yaml,woodfisher.yml,*.prune.yaml,*.prune.yml}' },
  { language: 'json', pattern: '**/{woodfisher.json,*.prune.json}' },
];

export function isRecipeDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && RECIPE_FILE.test(path.basename(doc.fileName));
}

export interface YamlContext {
  /** Keys of the enclosing mappings, outermost first (e.g. ['layers', 'fc1']). */
  parents: string[];
  /** The key written on this line before the cursor when the cursor is in its value, else undefined. */
  valueOf?: string;
  /** The key under the cursor (for hover), if any. */
  keyAt?: { key: string; range: vscode.Range };
  /** The partial word being typed. */
  prefix: string;
}

const indentOf = (line: string) => line.length - line.trimStart().length;
const keyOf = (line: string) => /^\s*(?:-\s+)?("?)([^"#:\s][^"#:]*?)\1\s*:(?:\s|$)/.exec(line)?.[2];

export function yamlContext(doc: vscode.TextDocument, pos: vscode.Position): YamlContext {
  const line = doc.lineAt(pos.line).text;
  const before = line.slice(0, pos.character);
  const indent = before.trim() ? indentOf(line) : before.length;
  const parents: string[] = [];
  let level = indent;
  for (let i = pos.line - 1; i >= 0 && level > 0; i--) {
    const t = doc.lineAt(i).text;
    if (!t.trim() || t.trimStart().startsWith('#')) continue;
    const ind = indentOf(t);
    if (ind < level) {
      const k = keyOf(t);
      if (k) parents.unshift(k);
      level = ind;
    }
  }
  const m = /^(\s*)("?)([^"#:\s][^"#:]*?)\2\s*:\s*(.*)$/.exec(before);
  const valueOf = m ? m[3] : undefined;
  const fullKey = keyOf(line);
  let keyAt: YamlContext['keyAt'];
  if (fullKey) {
    const start = line.indexOf(fullKey);
    if (pos.character >= start && pos.character <= start + fullKey.length) {
      keyAt = { key: fullKey, range: new vscode.Range(pos.line, start, pos.line, start + fullKey.length) };
    }
  }
  const prefix = /[\w.-]*$/.exec(before)?.[0] ?? '';
  return { parents, valueOf, keyAt, prefix };
}
