// What every form of a Fisher block's inverse offers (primal, dual, recursive: dense.ts, dual.ts; chosen in inverse.ts).
import type { InverseForm } from '../types';

/** A built form: 'auto' resolved to one of these. */
export type BuiltForm = Exclude<InverseForm, 'auto'>;

export interface FisherBlockInverse {
  readonly size: number; // b
  readonly form: BuiltForm;
  diag(): Float64Array; // [F⁻¹]_qq, the inverse's own array (no copy: read it, never write it)
  mul(v: Float64Array): Float64Array; // F⁻¹ v
  sub(q: Int32Array): Float64Array; // [F⁻¹]_{Q,Q}, |Q|×|Q| row-major (joint update)
  cols(q: Int32Array): Float64Array; // F⁻¹ E_Q, b×|Q| row-major
  storage(): ArrayBufferLike; // the buffer its matrix lives in (shared by the blocks of one batched build)
}
