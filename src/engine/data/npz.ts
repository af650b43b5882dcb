// NumPy .npz reader: a zip (stored or deflated) of .npy members, via fflate.
import { unzipSync } from 'fflate';
import { WoodFisherError } from '../types';
import { parseNpy, type NpyArray } from './npy';
import { formatBytes } from '../report/bytes';

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
            `${name} inflates to more than ${formatBytes(maxBytes)} (member ${f.name} alone is ${formatBytes(f.originalSize)}), over what this run may hold (raise --max-memory)`,
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
