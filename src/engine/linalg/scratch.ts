// Reusable buffers for the batched Fisher math (one pool per thread). Many small blocks allocate the same few sizes
// over and over (operands, products, the recursion's halves); a fresh large ArrayBuffer costs zeroing, page faults,
// its unmapping and GC pressure — measured 0.2–1 ms a MiB here, more than the JS around the products
// (docs/performance.md, "many small Fisher blocks"). Buffers are keyed by exact byte length; contents are NOT zeroed.

const MAX_BYTES = 32 * 2 ** 20; // kept at most per thread: about what one batch of blocks uses (the plan counts that scratch)
const PER_SIZE = 8;

const free = new Map<number, ArrayBuffer[]>();
let kept = 0;

/** A buffer of exactly `bytes` bytes, reused when one is free (contents undefined). */
export function takeBuffer(bytes: number): ArrayBuffer {
  return takeFree(bytes) ?? new ArrayBuffer(bytes);
}

/** A free buffer of exactly `bytes` bytes from the pool, or undefined (never allocates). */
export function takeFree(bytes: number): ArrayBuffer | undefined {
  const b = free.get(bytes)?.pop();
  if (b) kept -= bytes;
  return b;
}

/** A float32 array of `len` zeros in shared memory: gradient rows (rowArena.ts), which the Fisher block threads then
 *  read in place (each gathers its own blocks) instead of the main thread copying every block out for them. */
export function sharedFloat32(len: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * len));
}

/** A float64 array of `len` values (contents undefined: write every value before reading it). */
export function scratch(len: number): Float64Array {
  return new Float64Array(takeBuffer(8 * len));
}

/** A float64 array of `len` zeros. */
export function zeros(len: number): Float64Array {
  return scratch(len).fill(0);
}

/** Gives buffers back for reuse; the arrays must not be used afterwards. Views into a larger buffer are ignored. */
export function recycle(...arrays: (ArrayBufferView | ArrayBuffer | undefined)[]): void {
  for (const a of arrays) {
    if (!a) continue;
    const b = a instanceof ArrayBuffer ? a : a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a.buffer : undefined;
    if (!(b instanceof ArrayBuffer) || b.byteLength === 0 || kept + b.byteLength > MAX_BYTES) continue;
    const list = free.get(b.byteLength) ?? [];
    if (list.length >= PER_SIZE || list.includes(b)) continue;
    list.push(b);
    free.set(b.byteLength, list);
    kept += b.byteLength;
  }
}

/** Bytes held for reuse now (tests, the memory plan). */
export function scratchBytes(): number {
  return kept;
}

/** Empties the pool (its memory goes to the garbage collector). */
export function releaseScratch(): void {
  free.clear();
  kept = 0;
}

/** One view over the arrays when they lie one after another in one buffer (same type), else undefined. */
export function adjacent<T extends Float32Array | Float64Array>(arrays: T[]): T | undefined {
  const [a] = arrays;
  let end = a.byteOffset;
  for (const x of arrays) {
    if (x.buffer !== a.buffer || x.constructor !== a.constructor || x.byteOffset !== end) return undefined;
    end += x.byteLength;
  }
  const len = (end - a.byteOffset) / a.BYTES_PER_ELEMENT;
  return (a instanceof Float32Array ? new Float32Array(a.buffer, a.byteOffset, len) : new Float64Array(a.buffer, a.byteOffset, len)) as T;
}

/** The arrays one after another in a new array of the first one's type. */
export function concatenated<T extends Float32Array | Float64Array | Uint8Array>(arrays: T[]): T {
  const out = new (arrays[0].constructor as new (n: number) => T)(arrays.reduce((t, x) => t + x.length, 0));
  let o = 0;
  for (const x of arrays) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}
