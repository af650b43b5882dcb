// NumPy .npz reader: a zip (stored or deflated) of .npy members, via fflate.
import { unzipSync } from 'fflate';
import { WoodFisherError } from '../types';
import { parseNpy, type NpyArray } from './npy';
import { formatBytes } from '../report/bytes';

/**
 * A member's inflated size as fflate will allocate it, in words. From 2 GiB on Python's zipfile (np.savez) writes
 * 0xFFFFFFFF with the true size in a zip64 field, which fflate reads only when the archive has a zip64 end record
 * (savez_compressed of a large array often has none); fflate then inflates into 4 GiB, and that is what is counted.
 */
export function memberSize(f: { name: string; originalSize: number }): string {
  return f.originalSize === 0xffffffff
    ? `over 2 GiB — ${formatBytes(f.originalSize)} to read, as the zip reader skips the zip64 field with its exact size`
    : formatBytes(f.originalSize);
}

/** Arrays of an .npz keyed by member name without '.npy'. `name` is for error messages. */
export function readNpz(bytes: Uint8Array, name = 'archive.npz', maxBytes = Infinity): Record<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  let inflated = 0;
  try {
    // Members' declared sizes are checked before inflating (fflate inflates into a buffer of exactly that size).
    files = unzipSync(bytes, {
      filter: f => {
        if (!f.name.endsWith('.npy')) return false;
        inflated += f.originalSize;
        if (inflated > maxBytes)
          throw new WoodFisherError(
            `${name} inflates to more than ${formatBytes(maxBytes)} (member ${f.name} alone is ${memberSize(f)}), over what this run may hold (raise --max-memory)`,
            'MEMORY',
            { file: name },
          );
        return true;
      },
    });
  } catch (e) {
    if (e instanceof WoodFisherError) throw e;
    throw new WoodFisherError(`${name}: not a valid .npz (zip) file (${(e as Error).message})`, 'DATA_FORMAT', { file: name });
  }
  const out: Record<string, NpyArray> = {};
  for (const [member, data] of Object.entries(files)) {
    if (!member.endsWith('.npy')) continue;
    const key = member.slice(0, -4);
    out[key] = parseNpy(data, `${name}:${member}`);
  }
  return out;
}
