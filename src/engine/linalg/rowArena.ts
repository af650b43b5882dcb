// Where a run's per-sample gradient rows live: shared memory that the Fisher block threads read in place.
// Node 20's V8 writes a SharedArrayBuffer's length modulo 2³² when it is posted to a worker: a view of a buffer of
// 4 GiB or more arrives pointing elsewhere in it (silently wrong rows) or not at all ('messageerror': the job never
// runs). So no shared buffer here exceeds SHARED_MAX_BYTES; layers are packed into chunks of at most that size.
import { sharedFloat32 } from './scratch';

export const SHARED_MAX_BYTES = 2 ** 31; // well under the 4 GiB at which the length wraps

/** Rows of several layers, reused call after call (streamed groups take turns in the same memory). */
export class RowArena {
  private readonly chunks: Float32Array[] = [];
  private own?: Float32Array; // a layer too large for any chunk, in memory of its own (not shared)

  constructor(private readonly maxFloats = SHARED_MAX_BYTES / 4) {}

  /** One view of `len` floats per entry, packed first-fit into shared chunks (made as needed, none larger than the
   *  cap); an entry above the cap gets ordinary memory, which the block threads receive gathered. Views from an
   *  earlier call are overwritten by this one's. */
  views(lengths: number[]): Float32Array[] {
    const used = this.chunks.map(() => 0);
    const big = (len: number) => len > this.maxFloats;
    const own = lengths.filter(big).reduce((a, b) => a + b, 0);
    if (own > (this.own?.length ?? 0)) this.own = new Float32Array(own);
    let ownUsed = 0,
      unplaced = lengths.filter(len => !big(len)).reduce((a, b) => a + b, 0); // shared floats not yet placed
    return lengths.map(len => {
      if (big(len)) return this.own!.subarray(ownUsed, (ownUsed += len));
      let c = used.findIndex((u, i) => u + len <= this.chunks[i].length);
      if (c < 0) {
        // a new chunk for what this call still has to place, up to the cap
        c = this.chunks.push(sharedFloat32(Math.min(this.maxFloats, unplaced))) - 1;
        used.push(0);
      }
      unplaced -= len;
      return this.chunks[c].subarray(used[c], (used[c] += len));
    });
  }
}
