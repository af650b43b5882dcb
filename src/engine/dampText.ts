// λ as people type it — the --damp flag, the woodfisher.damp setting: a positive number such as 1e-5, or auto.
import { WoodFisherError } from './types';

/** A decimal number, optionally with an exponent: what package.json's woodfisher.damp pattern accepts too. */
export const DAMP_NUMBER = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

export const DAMP_EXPECTED = 'expected a positive number such as 1e-5, or auto';

/** "1e-5" → 1e-5, " auto " → 'auto'; anything else (0, negative, hex, Infinity, text) throws with DAMP_EXPECTED. */
export function parseDampText(text: string): number | 'auto' {
  const t = text.trim();
  if (t === 'auto') return 'auto';
  const n = DAMP_NUMBER.test(t) ? Number(t) : NaN;
  if (!(n > 0 && Number.isFinite(n))) throw new WoodFisherError(`${DAMP_EXPECTED}, not "${text}"`, 'OPTIONS');
  return n;
}
