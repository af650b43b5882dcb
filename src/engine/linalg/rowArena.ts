// Where a run's per-sample gradient rows live: shared memory that the Fisher block threads read in place.
// Node 20's V8 writes a SharedArrayBuffer's length modulo 2³² when it is posted to a worker: a view of a buffer of
// 4 GiB or more arrives pointing elsewhere in it (silently wrong rows) or not at all ('messageerror': the job never
// runs). So no shared buffer here exceeds SHARED_MAX_BYTES; layers are packed into chunks of at most that size.

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
    let ownUsed = 0;
    const own = lengths.filter(len => len > this.maxFloats).reduce((a, b) => a + b, 0);
    if (own > (this.own?.length ?? 0)) this.own = new Float32Array(own);
    return lengths.map(len => {
      if (len > this.maxFloats) return this.own!.subarray(ownUsed, (ownUsed += len));
      let c = used.findIndex((u, i) => u + len <= this.chunks[i].length);
      if (c < 0) {
        // a new chunk: what the remaining entries of this call need, up to the cap
        c = this.chunks.length;
        this.chunks.push(
          new Float32Array(new SharedArrayBuffer(4 * Math.min(this.maxFloats, Math.max(len, this.remaining(lengths, used))))),
        );
        used.push(0);
      }
      return this.chunks[c].subarray(used[c], (used[c] += len));
    });
  }

  /** Floats of the shared entries of `lengths` not yet placed (an upper bound: all of them, less what the chunks
   *  already hold). */
  private remaining(lengths: number[], used: number[]): number {
    const shared = lengths.filter(len => len <= this.maxFloats).reduce((a, b) => a + b, 0);
    return shared - used.reduce((a, b) => a + b, 0);
  }
}
