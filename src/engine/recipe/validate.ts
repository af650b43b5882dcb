// Schema validation of a recipe value (ajv, draft-07), turned into diagnostics at source ranges.
import Ajv, { ErrorObject } from 'ajv';
import { escapePointer, pointerKeys } from './pointer';
import { recipeSchema, schemaAt } from './schema';
import { rangeOfPath, RecipeSource } from './spans';
import { didYouMean } from './suggest';
import type { RecipeDiagnostic } from './types';

let compiled: ReturnType<Ajv['compile']> | undefined;
function validator() {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    compiled = ajv.compile(recipeSchema);
  }
  return compiled;
}

/** "/layers/fc1/sparsity" → "layers.fc1.sparsity" (how messages name a value). */
export function pointerToName(pointer: string): string {
  return pointer === '' ? 'recipe' : pointerKeys(pointer).join('.');
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string "${v}"`;
  return `${typeof v} ${String(v)}`;
}

interface Branch {
  type?: string;
  const?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
}

/** One alternative of an anyOf as a message says it: `a number > 0`, `"auto"`. */
function describeBranch(b: Branch): string {
  if ('const' in b) return JSON.stringify(b.const);
  const bounds = [
    b.exclusiveMinimum !== undefined ? `> ${b.exclusiveMinimum}` : b.minimum !== undefined ? `≥ ${b.minimum}` : '',
    b.exclusiveMaximum !== undefined ? `< ${b.exclusiveMaximum}` : b.maximum !== undefined ? `≤ ${b.maximum}` : '',
  ].filter(Boolean);
  return [b.type === 'integer' ? 'an integer' : `a ${b.type ?? 'value'}`, ...bounds].join(' ');
}

function valueAt(root: unknown, pointer: string): unknown {
  let v: any = root;
  for (const key of pointerKeys(pointer)) v = v?.[key];
  return v;
}

function toDiagnostic(e: ErrorObject, source: RecipeSource): RecipeDiagnostic {
  const at = e.instancePath;
  const name = pointerToName(at);
  const value = valueAt(source.value, at);
  let path = at;
  let part: 'key' | 'value' = 'value';
  let message: string;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      path = `${at}/${escapePointer(key)}`;
      part = 'key';
      const allowed = Object.keys(schemaAt(pointerKeys(at))?.properties ?? {});
      message = `unknown key "${key}"${at ? ` in ${name}` : ''}${didYouMean(key, allowed)}; allowed: ${allowed.join(', ')}`;
      break;
    }
    case 'required':
      message = `${name} is missing "${e.params.missingProperty}"`;
      part = 'key';
      break;
    case 'type': {
      const t = ([] as string[]).concat(e.params.type).map(t => (t === 'object' ? 'an object' : t === 'integer' ? 'an integer' : `a ${t}`));
      message = `${name} must be ${t.join(' or ')}, not ${describeType(value)}`;
      break;
    }
    case 'enum': {
      const allowed = e.params.allowedValues as string[];
      message = `${name} must be one of ${allowed.join(', ')}, not ${describeType(value)}${typeof value === 'string' ? didYouMean(value, allowed) : ''}`;
      break;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const s = schemaAt(pointerKeys(at)) ?? {};
      const lo = s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : s.minimum !== undefined ? `≥ ${s.minimum}` : '';
      const hi = s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : s.maximum !== undefined ? `≤ ${s.maximum}` : '';
      const range =
        lo && hi
          ? `in [${s.minimum ?? s.exclusiveMinimum}, ${s.maximum ?? s.exclusiveMaximum}${s.exclusiveMaximum !== undefined ? ')' : ']'}`
          : `${lo}${hi}`;
      // Under anyOf (damp: a number or "auto") the bounds are on the branch ajv reports, not on the property.
      message = `${name} must be ${range || `${e.params.comparison} ${e.params.limit}`}, got ${String(value)}`;
      break;
    }
    case 'pattern':
      message =
        name === 'maxMemory' || name === 'targetSize'
          ? `${name} must be a number of bytes or a size like "${name === 'maxMemory' ? '4GB' : '1.5MB'}", not "${String(value)}"`
          : `${name} has an invalid format: "${String(value)}"`;
      break;
    case 'minLength':
      message = `${name} must not be empty`;
      break;
    case 'anyOf': {
      const branches = (schemaAt(pointerKeys(at)) as { anyOf?: Branch[] } | undefined)?.anyOf ?? [];
      message = `${name} must be ${branches.map(describeBranch).join(' or ') || 'another value'}, not ${describeType(value)}`;
      break;
    }
    default:
      message = `${name} ${e.message ?? 'is invalid'}`;
  }
  return { message, path, severity: 'error', ...rangeOfPath(source, path, part) };
}

/** Schema diagnostics for a parsed recipe source (no syntax errors expected). Sorted by position. */
export function validateRecipeValue(source: RecipeSource): RecipeDiagnostic[] {
  const validate = validator();
  if (validate(source.value)) return [];
  const errors = validate.errors ?? [];
  // An anyOf that fails is one error (ajv adds one per branch, then the anyOf's): say it once, naming the branches.
  const anyOfs = errors.filter(e => e.keyword === 'anyOf').map(e => e.schemaPath + '/');
  const seen = new Set<string>();
  const out: RecipeDiagnostic[] = [];
  for (const e of errors) {
    if (anyOfs.some(prefix => e.schemaPath.startsWith(prefix))) continue;
    const d = toDiagnostic(e, source);
    const k = `${d.path}|${d.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(d);
    }
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}
