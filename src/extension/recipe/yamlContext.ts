// Where the cursor is inside a YAML recipe: the keys of the enclosing mappings, the key whose value is being typed,
// the key under the cursor. Line-based (a half-typed recipe rarely parses). No vscode import: a TextDocument is TextLines.

/** What yamlContext reads of a document: its lines. */
export interface TextLines {
  lineAt(line: number): { text: string };
}

export interface YamlContext {
  /** Keys of the enclosing mappings, outermost first (e.g. ['layers', 'fc1']). */
  parents: string[];
  /** The key written on this line before the cursor when the cursor is in its value, else undefined. */
  valueOf?: string;
  /** The key under the cursor (for hover), if any: its line and [start, end) columns. */
  keyAt?: { key: string; line: number; start: number; end: number };
  /** The partial word being typed. */
  prefix: string;
}

const indentOf = (line: string) => line.length - line.trimStart().length;
const keyOf = (line: string) => /^\s*(?:-\s+)?("?)([^"#:\s][^"#:]*?)\1\s*:(?:\s|$)/.exec(line)?.[2];

export function yamlContext(doc: TextLines, pos: { line: number; character: number }): YamlContext {
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
      keyAt = { key: fullKey, line: pos.line, start, end: start + fullKey.length };
    }
  }
  const prefix = /[\w.-]*$/.exec(before)?.[0] ?? '';
  return { parents, valueOf, keyAt, prefix };
}
