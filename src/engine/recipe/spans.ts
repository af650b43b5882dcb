// Where each JSON-pointer-addressed value of a recipe sits in its source text, for YAML and JSON alike.
import { Document, isMap, isPair, isScalar, isSeq, Node, parseDocument } from 'yaml';
import { parseJsonWithSpans, type Spans } from './json-spans';
import { escapePointer } from './pointer';
import type { SourceRange } from './types';

export type { Spans } from './json-spans';

/** A parsed recipe text: its plain value, the spans of its parts, and syntax errors (offsets). */
export interface RecipeSource {
  text: string;
  format: 'yaml' | 'json';
  value: unknown;
  spans: Spans;
  syntaxErrors: { message: string; start: number; end: number }[];
}

export function parseSource(text: string, fileName: string): RecipeSource {
  if (/\.json$/i.test(fileName)) {
    const r = parseJsonWithSpans(text);
    return { text, format: 'json', value: r.value, spans: r.spans, syntaxErrors: r.error ? [r.error] : [] };
  }
  const doc = parseDocument(text, { keepSourceTokens: false, prettyErrors: false, uniqueKeys: true });
  const syntaxErrors = doc.errors.map(e => ({ message: e.message.split('\n')[0], start: e.pos[0], end: Math.max(e.pos[1], e.pos[0] + 1) }));
  let value: unknown;
  if (syntaxErrors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      syntaxErrors.push({ message: (e as Error).message, start: 0, end: 1 });
    }
  }
  return { text, format: 'yaml', value, spans: yamlSpans(doc), syntaxErrors };
}

/** Spans of every node of a YAML document, by JSON pointer. */
export function yamlSpans(doc: Document): Spans {
  const spans: Spans = new Map();
  const walk = (node: unknown, ptr: string, key?: [number, number]) => {
    const n = node as Node | null;
    const r = n && n.range;
    const value: [number, number] | undefined = r ? [r[0], r[1]] : undefined;
    // An empty value ("key:" with nothing after it) points at its key.
    spans.set(ptr, { key, value: value && value[1] > value[0] ? value : (key ?? value ?? [0, 0]) });
    if (isMap(n)) {
      for (const item of n.items) {
        if (!isPair(item)) continue;
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const kr = (item.key as Node | null)?.range;
        walk(item.value, `${ptr}/${escapePointer(k)}`, kr ? [kr[0], kr[1]] : undefined);
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => walk(item, `${ptr}/${i}`));
    }
  };
  walk(doc.contents, '');
  return spans;
}

/** Offset → 1-based line and column. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1,
    lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++)
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  return { line, column: offset - lineStart + 1 };
}

export function offsetsToRange(text: string, start: number, end: number): SourceRange {
  const a = lineColumn(text, start),
    b = lineColumn(text, end);
  return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
}

/**
 * Source range of the value at a JSON pointer (or of its key, with part = 'key': where unknown keys are
 * reported). A pointer that does not exist (a missing key) falls back to its nearest existing parent.
 */
export function rangeOfPath(source: RecipeSource, pointer: string, part: 'key' | 'value' = 'value'): SourceRange {
  const { spans } = source;
  let p = pointer;
  while (true) {
    const s = spans.get(p);
    if (s) {
      if (p === pointer && part === 'value') return offsetsToRange(source.text, s.value[0], s.value[1]);
      // The key; or for a parent (fallback) without one, the first line of its value (not a whole block).
      if (s.key) return offsetsToRange(source.text, s.key[0], s.key[1]);
      const [a, b] = s.value;
      const eol = source.text.indexOf('\n', a);
      return offsetsToRange(source.text, a, eol >= 0 && eol < b ? eol : b);
    }
    if (p === '') return offsetsToRange(source.text, 0, 0);
    p = p.slice(0, p.lastIndexOf('/'));
  }
}
