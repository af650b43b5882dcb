// The values of the woodfisher.* settings that are text (the Settings UI edits strings), read the engine's way.
// No vscode here: test/extension-pure checks them against package.json's patterns.
import { DAMP_EXPECTED, parseDampText } from '../engine/dampText';
import { parseBytes } from '../engine/report/bytes';
import { messageOf } from './commandArgs';

/** woodfisher.damp: "1e-5", "auto" or empty (undefined: the engine default); a number from an older settings.json
 *  also counts. Anything else is one clear error, never silently the default. */
export function parseDamp(v: unknown): number | 'auto' | undefined {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return undefined;
  if (typeof v === 'number' && v > 0 && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    try {
      return parseDampText(v);
    } catch {
      /* the one error below */
    }
  }
  throw new Error(`Setting woodfisher.damp: ${DAMP_EXPECTED} (or empty for the default), not ${JSON.stringify(v)}`);
}

/** woodfisher.maxMemory in bytes: "4GB", "512 MiB", "2e9" (the engine's one reading of sizes); empty: undefined (the
 *  engine picks a safe limit); anything unreadable: one clear error, never silently ignored. */
export function parseMaxMemory(text: string): number | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    return parseBytes(/^\d+(\.\d+)?e\d+$/i.test(t) ? Number(t) : t.replace(/\s+/g, ''));
  } catch (e) {
    throw new Error(`Setting woodfisher.maxMemory: ${messageOf(e)}`);
  }
}
