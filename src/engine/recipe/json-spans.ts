// A small strict JSON parser that also records where every value (and object key) sits in the text,
// so that schema errors can point at the exact line and column. JSON.parse gives values only.
import type { Spans } from './spans';

export interface JsonParse { value: unknown; spans: Spans; error?: { message: string; start: number; end: number } }

class JsonSyntaxError extends Error {
  constructor(message: string, readonly start: number, readonly end: number) { super(message); }
}

export function parseJsonWithSpans(text: string): JsonParse {
  const spans: Spans = new Map();
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const fail = (msg: string, at = i): never => { throw new JsonSyntaxError(msg, at, Math.min(text.length, at + 1)); };
  const describe = () => (i >= text.length ? 'end of file' : `"${text[i]}"`);

  const str = (): string => {
    const start = i++;
    let out = '';
    while (true) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i];
      if (c === '"') { i++; return out; }
      if (c === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) { out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); i += 6; continue; }
        if (e !== undefined && e in map) { out += map[e]; i += 2; continue; }
        fail('invalid escape in string');
      }
      if (c < ' ') fail('control character in string');
      out += c; i++;
    }
  };

  const value = (ptr: string, key?: [number, number]): unknown => {
    ws();
    const start = i;
    let v: unknown;
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') i++;
      else {
        while (true) {
          ws();
          if (text[i] !== '"') fail(`expected a quoted key, found ${describe()}`);
          const ks = i;
          const k = str();
          const kr: [number, number] = [ks, i];
          if (Object.prototype.hasOwnProperty.call(obj, k)) throw new JsonSyntaxError(`duplicate key "${k}"`, ks, i);
          ws();
          if (text[i] !== ':') fail(`expected ":" after key "${k}", found ${describe()}`);
          i++;
          obj[k] = value(`${ptr}/${escapePointer(k)}`, kr);
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === '}') { i++; break; }
          fail(`expected "," or "}", found ${describe()}`);
        }
      }
      v = obj;
    } else if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') i++;
      else {
        while (true) {
          arr.push(value(`${ptr}/${arr.length}`));
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === ']') { i++; break; }
          fail(`expected "," or "]", found ${describe()}`);
        }
      }
      v = arr;
    } else if (c === '"') {
      v = str();
    } else {
      const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (!m) fail(`unexpected ${describe()}`);
      i += m![0].length;
      v = m![0] === 'true' ? true : m![0] === 'false' ? false : m![0] === 'null' ? null : Number(m![0]);
    }
    spans.set(ptr, { key, value: [start, i] });
    return v;
  };

  try {
    const v = value('');
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
    return { value: v, spans };
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { value: undefined, spans, error: { message: e.message, start: e.start, end: e.end } };
    throw e;
  }
}

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
