// Byte sizes for people: "4GB" ⇄ 4e9.
import { WoodFisherError } from '../types';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
};

/** "4GB" → 4e9, "512MiB" → 536870912, "1000" or 1000 → 1000. KB/MB/GB/TB are powers of 1000, KiB… of 1024. */
export function parseBytes(size: string | number, what = 'memory size'): number {
  if (typeof size === 'number') {
    if (!(size > 0) || !Number.isFinite(size))
      throw new WoodFisherError(`${what} must be a positive number of bytes, got ${size}`, 'OPTIONS');
    return Math.floor(size);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(size);
  const unit = m ? UNITS[m[2].toLowerCase() || 'b'] : undefined;
  if (!m || unit === undefined || !(Number(m[1]) > 0)) {
    throw new WoodFisherError(`invalid ${what} "${size}": use bytes or a size like 4GB, 512MB, 2GiB`, 'OPTIONS');
  }
  return Math.floor(Number(m[1]) * unit);
}

/** 4.2e9 → "4.2 GB" (powers of 1000, as parseBytes reads them). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes,
    i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}
