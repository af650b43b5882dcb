// JSON recipes: the value and where every value (and object key) sits in the text, from jsonc-parser's syntax tree
// (VS Code's own JSON parser), strict JSON (no comments, no trailing commas, no duplicate keys).
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { escapePointer } from './pointer';

/** Offsets [start, end) of each value, and of its key when it is an object member. Keyed by JSON pointer. */
export type Spans = Map<string, { key?: [number, number]; value: [number, number] }>;

export interface JsonParse {
  value: unknown;
  spans: Spans;
  error?: { message: string; start: number; end: number };
}

const MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a quoted key',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape in string',
  InvalidCharacter: 'control character in string',
};

export function parseJsonWithSpans(text: string): JsonParse {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  const spans: Spans = new Map();
  const syntax = (message: string, start: number, length: number): JsonParse => ({
    value: undefined,
    spans,
    error: { message, start, end: Math.min(text.length, start + Math.max(1, length)) },
  });
  if (errors.length) {
    const e = errors[0];
    const code = printParseErrorCode(e.error);
    return syntax(MESSAGES[code] ?? code, e.offset, e.length);
  }
  if (!root) return { value: undefined, spans };
  let duplicate: JsonParse | undefined;
  const walk = (n: Node, ptr: string, key?: [number, number]): unknown => {
    spans.set(ptr, { key, value: [n.offset, n.offset + n.length] });
    if (n.type === 'object') {
      const obj: Record<string, unknown> = {};
      for (const prop of n.children ?? []) {
        const [k, v] = prop.children ?? [];
        const name = k.value as string;
        if (Object.prototype.hasOwnProperty.call(obj, name)) duplicate ??= syntax(`duplicate key "${name}"`, k.offset, k.length);
        obj[name] = v ? walk(v, `${ptr}/${escapePointer(name)}`, [k.offset, k.offset + k.length]) : undefined;
      }
      return obj;
    }
    if (n.type === 'array') return (n.children ?? []).map((c, i) => walk(c, `${ptr}/${i}`));
    return n.value;
  };
  const value = walk(root, '');
  return duplicate ?? { value, spans };
}
