// Weight encoding of a TF.js layers-model: float32, float16 or affine uint8/uint16 per weight, exactly as TF.js's loader
// decodes it (tfjs-core io_utils.decodeWeight) and as tensorflowjs_converter --quantize_* writes it (quantization.py).
// Turns weights + a choice per weight into { model.json text, 4 MB shards }; writing them is saveModel's job.
import { Float16Array } from '@petamoriken/float16';
import type { tf } from '../backend';
import { WoodFisherError, type Encoding, type QuantizeMode } from '../types';

export type { Encoding, QuantizeMode };
export const QUANTIZE_MODES: readonly QuantizeMode[] = ['keep', 'none', 'float16', 'uint16', 'uint8'];

export const SHARD_BYTES = 4 * 1024 * 1024; // the converter's default shard size (write_weights.py)
const FLOAT16_MAX = 65504;

export type ManifestEntry = tf.io.WeightsManifestEntry;

/** A weight as it stands in the model: float32 values, or raw bytes for dtypes that are never re-encoded. */
export interface WeightValues {
  spec: ManifestEntry;
  values: Float32Array | null;
  raw: Uint8Array;
}

/** A weight as read from the input: its manifest entry and the bytes that were in the shard. */
export interface InputWeight {
  spec: ManifestEntry;
  bytes: Uint8Array;
}

export interface EncodedWeight {
  name: string;
  encoding: Encoding | 'raw'; // 'raw': int32/bool/… weights, copied byte for byte
  spec: ManifestEntry; // manifest entry as written
  bytes: Uint8Array; // its bytes in the shard
  written: Float32Array | null; // values as TF.js decodes them from `bytes` (null for 'raw')
  verbatim: boolean; // the input's bytes, reused because the values did not change
  maxError: number; // max |written − w|
  relError: number; // ‖written − w‖ / ‖w‖
  error2: number; // ‖written − w‖²
  norm2: number; // ‖w‖²
}

export interface EncodedModel {
  modelJson: string;
  shards: { name: string; bytes: Uint8Array }[];
  weights: EncodedWeight[];
}

export interface AffineRange {
  scale: number;
  min: number;
}

/**
 * The converter's affine range (quantization.py _get_affine_quantization_range): scale = (max − min)/q_max, and when
 * 0 ∈ [min, max] the minimum is nudged to −round(−min/scale)·scale so that 0 is a grid point and decodes to exactly 0.
 */
export function affineRange(min: number, max: number, qmax: number): AffineRange {
  if (min === max) return { scale: 1, min }; // one value: every code is 0 (the converter's special case)
  const scale = (max - min) / qmax;
  if (min <= 0 && 0 <= max) return { scale, min: -(roundHalfEven(-min / scale) * scale) };
  return { scale, min };
}

/** Affine quantization q = round((clip(w, min, max) − min)/scale); TF.js decodes q·scale + min (in float64, stored as float32). */
export function quantizeAffine(
  w: Float32Array,
  dtype: 'uint8' | 'uint16',
): { q: Uint8Array | Uint16Array; range: AffineRange; written: Float32Array } {
  const qmax = dtype === 'uint8' ? 255 : 65535;
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < w.length; i++) {
    if (w[i] < lo) lo = w[i];
    if (w[i] > hi) hi = w[i];
  }
  if (w.length === 0) {
    lo = 0;
    hi = 0;
  }
  const range = affineRange(lo, hi, qmax);
  const q = dtype === 'uint8' ? new Uint8Array(w.length) : new Uint16Array(w.length);
  const written = new Float32Array(w.length);
  if (lo !== hi) {
    const top = qmax * range.scale + range.min;
    for (let i = 0; i < w.length; i++) {
      const v = Math.min(Math.max(w[i], range.min), top);
      q[i] = Math.min(qmax, Math.max(0, roundHalfEven((v - range.min) / range.scale)));
    }
  }
  for (let i = 0; i < w.length; i++) written[i] = q[i] * range.scale + range.min;
  return { q, range, written };
}

/** numpy's np.round: halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** IEEE half precision, round to nearest even; values beyond ±65504 would become ±Inf, so callers check first. */
export function toFloat16(w: Float32Array): { bits: Uint16Array; written: Float32Array } {
  const h = new Float16Array(w);
  return { bits: new Uint16Array(h.buffer), written: Float32Array.from(h) };
}

/** Values TF.js decodes from a weight's bytes (tfjs-core io_utils.decodeWeight), for float32 weights. */
export function decodeValues(spec: ManifestEntry, bytes: Uint8Array): Float32Array {
  const copy = bytes.slice();
  const q = spec.quantization;
  if (!q) return new Float32Array(copy.buffer);
  if (q.dtype === 'float16') return Float32Array.from(new Float16Array(copy.buffer));
  const codes = q.dtype === 'uint8' ? copy : new Uint16Array(copy.buffer);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i] * q.scale! + q.min!;
  return out;
}

/** The encoding a weight has in a manifest. */
export function encodingOf(spec: ManifestEntry): Encoding {
  return (spec.quantization?.dtype as Encoding | undefined) ?? 'float32';
}

function errors(written: Float32Array, w: Float32Array): { maxError: number; relError: number; error2: number; norm2: number } {
  let max = 0,
    num = 0,
    den = 0;
  for (let i = 0; i < w.length; i++) {
    const d = Math.abs(written[i] - w[i]);
    if (d > max) max = d;
    num += d * d;
    den += w[i] * w[i];
  }
  return { maxError: max, relError: den > 0 ? Math.sqrt(num / den) : num > 0 ? Infinity : 0, error2: num, norm2: den };
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * Encodes one float32 weight. With an input weight whose decoded values equal `w` bit for bit and whose encoding is the
 * one asked for, the input's own bytes are reused (no new error, the converter's choices kept).
 */
export function encodeWeight(spec: ManifestEntry, w: Float32Array, encoding: Encoding, input?: InputWeight): EncodedWeight {
  const base = { name: spec.name, shape: spec.shape, dtype: spec.dtype };
  if (
    input &&
    encodingOf(input.spec) === encoding &&
    input.spec.dtype === spec.dtype &&
    sameValues(decodeValues(input.spec, input.bytes), w)
  ) {
    const written = decodeValues(input.spec, input.bytes);
    const kept = input.spec.quantization ? { ...base, quantization: { ...input.spec.quantization } } : base;
    return { name: spec.name, encoding, spec: kept, bytes: input.bytes, written, verbatim: true, ...errors(written, w) };
  }
  let bytes: Uint8Array, written: Float32Array, entry: ManifestEntry;
  if (encoding === 'float32') {
    written = w.slice();
    bytes = new Uint8Array(written.buffer);
    entry = base;
  } else if (encoding === 'float16') {
    let big = 0;
    for (let i = 0; i < w.length; i++) if (Math.abs(w[i]) > big) big = Math.abs(w[i]);
    if (big > FLOAT16_MAX) {
      throw new WoodFisherError(
        `weight '${spec.name}' has values up to ${big.toPrecision(3)}, beyond float16's range (±65504); quantize it to uint8/uint16 or keep it float32 (a per-layer quantize override)`,
        'OPTIONS',
      );
    }
    const h = toFloat16(w);
    bytes = new Uint8Array(h.bits.buffer);
    written = h.written;
    entry = { ...base, quantization: { dtype: 'float16' } };
  } else {
    const a = quantizeAffine(w, encoding);
    bytes = new Uint8Array(a.q.buffer);
    written = a.written;
    entry = { ...base, quantization: { dtype: encoding, scale: a.range.scale, min: a.range.min } };
  }
  return { name: spec.name, encoding, spec: entry, bytes, written, verbatim: false, ...errors(written, w) };
}

/** Shard file names of the converter: group1-shard{i}of{n}.bin. */
export function shardNames(totalBytes: number, shardBytes = SHARD_BYTES): string[] {
  const n = Math.max(1, Math.ceil(totalBytes / shardBytes));
  return Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
}

/**
 * Encodes every weight (in manifest order) with the encoding `choose` gives it, packs them in one group of 4 MB shards
 * and builds model.json around `json` (the input's other fields: format, trainingConfig, userDefinedMetadata, …).
 */
export function encodeModel(
  weights: WeightValues[],
  choose: (spec: ManifestEntry) => Encoding,
  json: { modelTopology: unknown; [k: string]: unknown },
  inputs: Map<string, InputWeight> = new Map(),
): EncodedModel {
  const encoded: EncodedWeight[] = weights.map(({ spec, values, raw }) => {
    if (!values || spec.dtype !== 'float32') {
      return {
        name: spec.name,
        encoding: 'raw',
        spec: { name: spec.name, shape: spec.shape, dtype: spec.dtype },
        bytes: raw,
        written: null,
        verbatim: false,
        maxError: 0,
        relError: 0,
        error2: 0,
        norm2: 0,
      };
    }
    return encodeWeight(spec, values, choose(spec), inputs.get(spec.name));
  });
  const total = encoded.reduce((a, e) => a + e.bytes.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const e of encoded) {
    data.set(e.bytes, o);
    o += e.bytes.length;
  }
  const names = shardNames(total);
  const shards = names.map((name, i) => ({ name, bytes: data.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES) }));
  const { weightsManifest: _w, ...rest } = json;
  const modelJson = JSON.stringify({ ...rest, weightsManifest: [{ paths: names, weights: encoded.map(e => e.spec) }] });
  return { modelJson, shards, weights: encoded };
}
