// Calibration / evaluation data: inputs checked against the model's input shape, labels against its classes.
import * as path from 'path';
import { WoodFisherError } from '../types';
import { parseNpy, type NpyArray } from './npy';
import { readNpz } from './npz';
import { mulberry32, sampleIndices } from './random';
import { inputFileSize, readInputFile } from '../files';
import { defaultMemoryLimit } from '../memory';

export interface Dataset {
  x: Float32Array;
  shape: number[]; // [N, ...inputShape]
  labels?: Int32Array; // class indices
  count: number;
  source: string;
}

/** What loadDataset needs of a model (a LoadedModel fits). */
export interface DataSpec {
  inputShape: number[];
  numClasses: number;
}

/** Reads an .npy or .npz of at most maxBytes (file and, for .npz, inflated members), checked before reading. */
export function readArrays(file: string, maxBytes: number, role: 'inputs' | 'labels'): { x?: NpyArray; y?: NpyArray } {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.npy' && ext !== '.npz') {
    inputFileSize(file, role === 'inputs' ? 'Data file' : 'Labels file');
    throw new WoodFisherError(
      `${path.basename(file)}: unsupported data format '${ext || 'no extension'}' (use .npy or .npz).`,
      'DATA_FORMAT',
      { file },
    );
  }
  const bytes = new Uint8Array(readInputFile(file, role === 'inputs' ? 'Data file' : 'Labels file', maxBytes));
  if (ext === '.npy') return { x: parseNpy(bytes, path.basename(file)) };
  const arrays = readNpz(bytes, path.basename(file), maxBytes);
  if (!arrays.x && !(role === 'labels' && arrays.y)) {
    throw new WoodFisherError(
      `${path.basename(file)} has no array 'x' (found: ${Object.keys(arrays).join(', ') || 'none'}); save it with np.savez(path, x=inputs, y=labels).`,
      'DATA_FORMAT',
      { file },
    );
  }
  return { x: arrays.x, y: arrays.y };
}

const fmt = (s: number[]) => `[${s.map(d => (d < 0 ? '?' : d)).join(', ')}]`;

/** Class indices from integer labels [N] / [N,1], integral floats, or one-hot / score rows [N, C]. */
export function toClassIndices(y: NpyArray, numClasses: number, file: string): Int32Array {
  const name = path.basename(file);
  const n = y.shape[0] ?? 0;
  const isInt = !(y.data instanceof Float32Array || y.data instanceof Float64Array);
  const out = new Int32Array(n);
  if (y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1 && numClasses !== 1)) {
    for (let i = 0; i < n; i++) {
      const v = Number(y.data[i]);
      if (!Number.isInteger(v))
        throw new WoodFisherError(
          `${name}: label ${i} is ${v}, not a class index${isInt ? '' : ' (floats must be whole numbers, or one-hot rows [N, C])'}.`,
          'LABELS',
          { file },
        );
      out[i] = v;
    }
  } else if (y.shape.length === 2) {
    const c = y.shape[1];
    if (c !== numClasses)
      throw new WoodFisherError(`${name}: one-hot labels have ${c} columns but the model has ${numClasses} classes.`, 'LABELS', { file });
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if (Number(y.data[i * c + j]) > Number(y.data[i * c + best])) best = j;
      out[i] = best;
    }
  } else {
    throw new WoodFisherError(
      `${name}: labels of shape ${fmt(y.shape)}; expected class indices [N] or one-hot [N, ${numClasses}].`,
      'LABELS',
      { file },
    );
  }
  for (let i = 0; i < n; i++)
    if (out[i] < 0 || out[i] >= numClasses) {
      throw new WoodFisherError(`${name}: label ${i} is ${out[i]}, outside the model's classes [0, ${numClasses}).`, 'LABELS', { file });
    }
  return out;
}

/** Inputs must be float32/float64/uint8 of shape [N ≥ 1, ...the model's input shape]. */
export function checkInputs(m: DataSpec, dtype: string, shape: number[], file: string): void {
  if (!(dtype === 'f4' || dtype === 'f8' || dtype === 'u1')) {
    throw new WoodFisherError(
      `${path.basename(file)}: inputs of dtype '${dtype}' are not supported (use float32, float64 or uint8).`,
      'DATA_FORMAT',
      { file },
    );
  }
  const want = [-1, ...m.inputShape];
  const ok = shape.length === want.length && want.every((d, i) => d < 0 || d === shape[i]);
  if (!ok) {
    throw new WoodFisherError(
      `${path.basename(file)}: inputs have shape ${fmt(shape)} but the model expects ${fmt([shape[0] ?? -1, ...m.inputShape])} ([samples, ${m.inputShape.join(', ')}]).`,
      'DATA_SHAPE',
      { file },
    );
  }
  if (shape[0] === 0) throw new WoodFisherError(`${path.basename(file)}: contains no samples.`, 'DATA_FORMAT', { file });
}

/** Loads inputs (and labels) for a model; default the first `samples` in file order, or a seeded sample with shuffle. */
export async function loadDataset(
  m: DataSpec,
  dataPath: string,
  labelsPath?: string,
  opts: { samples?: number; shuffle?: boolean; seed?: number; maxBytes?: number } = {},
): Promise<Dataset> {
  const file = path.resolve(dataPath);
  const maxBytes = opts.maxBytes ?? defaultMemoryLimit();
  const { x, y: yFromNpz } = readArrays(file, maxBytes, 'inputs');
  if (!x) throw new WoodFisherError(`${path.basename(file)}: no inputs found.`, 'DATA_FORMAT', { file });
  checkInputs(m, x.dtype, x.shape, file);
  const n = x.shape[0];
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);

  let labels: Int32Array | undefined;
  let labelFile = file;
  let yArr = yFromNpz;
  if (labelsPath) {
    labelFile = path.resolve(labelsPath);
    const r = readArrays(labelFile, maxBytes, 'labels');
    yArr = path.extname(labelFile).toLowerCase() === '.npz' ? (r.y ?? r.x) : r.x;
  }
  if (yArr) {
    labels = toClassIndices(yArr, m.numClasses, labelFile);
    if (labels.length !== n)
      throw new WoodFisherError(
        `${path.basename(labelFile)} has ${labels.length} labels but ${path.basename(file)} has ${n} samples.`,
        'LABELS',
        { file: labelFile },
      );
  }

  const k = Math.min(n, opts.samples && opts.samples > 0 ? Math.floor(opts.samples) : n);
  const idx = opts.shuffle ? sampleIndices(n, k, mulberry32(opts.seed ?? 0)) : Int32Array.from({ length: k }, (_, i) => i);
  const out = new Float32Array(k * per);
  const src = x.data as Float32Array | Float64Array | Uint8Array;
  for (let s = 0; s < k; s++) {
    const base = idx[s] * per;
    for (let j = 0; j < per; j++) {
      const v = src[base + j];
      if (!Number.isFinite(v))
        throw new WoodFisherError(`${path.basename(file)}: sample ${idx[s]} contains ${Number.isNaN(v) ? 'NaN' : 'Inf'}.`, 'DATA_FORMAT', {
          file,
        });
      out[s * per + j] = v;
    }
  }
  return {
    x: out,
    shape: [k, ...x.shape.slice(1)],
    labels: labels ? Int32Array.from(idx, i => labels![i]) : undefined,
    count: k,
    source: `${path.basename(file)}${labelsPath ? ` + ${path.basename(labelFile)}` : ''} (${k} of ${n}${opts.shuffle ? `, shuffled, seed ${opts.seed ?? 0}` : ', first in file order'})`,
  };
}
