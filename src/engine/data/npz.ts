// NumPy .npz reader: a zip (stored or deflated) of .npy members, via fflate.
import { unzipSync } from 'fflate';
import { WoodFisherError } from '../types';
import { parseNpy, type NpyArray } from './npy';

/** Arrays of an .npz keyed by member name without '.npy'. `name` is for error messages. */
export function readNpz(bytes: Uint8Array, name = 'archive.npz'): Record<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
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
