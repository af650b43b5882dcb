// NumPy .npy (format 1.0–3.0) reader and writer: the calibration-data format of the Python world.
import { WoodFisherError } from '../types';

export type NpyDtype = 'f4' | 'f8' | 'u1' | 'i1' | 'u2' | 'i2' | 'i4' | 'u4' | 'i8' | 'u8' | 'b1';
export type NpyData =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const MAGIC = '\x93NUMPY';
const CTORS: Record<NpyDtype, { new (b: ArrayBuffer, o: number, n: number): NpyData; BYTES_PER_ELEMENT: number }> = {
  f4: Float32Array,
  f8: Float64Array,
  u1: Uint8Array,
  i1: Int8Array,
  b1: Uint8Array,
  u2: Uint16Array,
  i2: Int16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
};

export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  offset: number;
  count: number;
  bytesPerElement: number;
}

/** Parses the header of a .npy file (its first bytes suffice: 10 + header length). `name` is used in error messages only. */
export function parseNpyHeader(bytes: Uint8Array, name = 'array'): NpyHeader {
  const fail = (why: string) => new WoodFisherError(`${name}: not a valid .npy file (${why})`, 'DATA_FORMAT', { file: name });
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) throw fail('bad magic');
  const major = bytes[6];
  if (major < 1 || major > 3) throw fail(`unknown .npy format version ${major}.${bytes[7]} (versions 1.0 to 3.0 are read)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) throw fail('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw fail('unreadable header');
  if (fortran === 'True') throw fail('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const shape = shapeText
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some(d => !Number.isInteger(d) || d < 0)) throw fail(`bad shape (${shapeText})`);
  const endian = descr[0];
  const dtype = descr.slice(1) as NpyDtype;
  if (!(dtype in CTORS)) throw fail(`unsupported dtype ${descr}`);
  if (endian === '>' && CTORS[dtype].BYTES_PER_ELEMENT > 1) throw fail(`big-endian dtype ${descr} is not supported`);
  return {
    dtype,
    shape,
    offset: start + headerLen,
    count: shape.reduce((a, b) => a * b, 1),
    bytesPerElement: CTORS[dtype].BYTES_PER_ELEMENT,
  };
}

/** Typed array of a dtype over a fresh copy of `bytes` (aligned whatever the source offset). */
export function npyElements(dtype: NpyDtype, bytes: Uint8Array, count: number): NpyData {
  const copy = new Uint8Array(bytes.subarray(0, count * CTORS[dtype].BYTES_PER_ELEMENT));
  return new CTORS[dtype](copy.buffer, 0, count);
}

/** Parses a .npy file. `name` is used in error messages only. */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const { dtype, shape, offset, count, bytesPerElement } = parseNpyHeader(bytes, name);
  const need = count * bytesPerElement;
  if (bytes.length - offset < need) {
    throw new WoodFisherError(
      `${name}: not a valid .npy file (truncated: ${bytes.length - offset} data bytes, expected ${need})`,
      'DATA_FORMAT',
      { file: name },
    );
  }
  // Copy into a fresh, aligned buffer (the file's data offset need not be aligned for the element size;
  // Buffer.slice would return a view of the whole file).
  return { dtype, shape, data: npyElements(dtype, bytes.subarray(offset), count) };
}

const DESCR: Record<string, NpyDtype> = {
  Float32Array: 'f4',
  Float64Array: 'f8',
  Uint8Array: 'u1',
  Int8Array: 'i1',
  Uint16Array: 'u2',
  Int16Array: 'i2',
  Int32Array: 'i4',
  Uint32Array: 'u4',
  BigInt64Array: 'i8',
  BigUint64Array: 'u8',
};

/** Serialises an array as .npy version 1.0 (little-endian, C order). */
export function formatNpy(data: NpyData, shape: number[]): Uint8Array {
  const dtype = DESCR[data.constructor.name];
  if (!dtype) throw new Error(`formatNpy: unsupported array type ${data.constructor.name}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Array.from('NUMPY', c => c.charCodeAt(0)), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Elements as plain numbers (int64 labels become numbers; values beyond 2^53 are not labels anyway). */
export function toFloat32(a: NpyArray): Float32Array {
  if (a.data instanceof Float32Array) return a.data;
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]);
  return out;
}
