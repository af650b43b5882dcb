// Download size of a model: model.json + shards, raw and as a web server sends them (gzip, brotli), file by file.
import { readInputFile } from '../files';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { WoodFisherError, type SizeFigures } from '../types';

export type { SizeFigures };

// gzip -9: what pre-compressed static files use. Brotli 9, not 11: within ~4% of 11 and ~40× faster (4 MB: 0.24 s vs 9.5 s).
export const GZIP_LEVEL = 9;
export const BROTLI_QUALITY = 9;

const gzipOptions = { level: GZIP_LEVEL };
const brotliOptions = (bytes: Uint8Array): zlib.BrotliOptions => ({
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
});

export function gzipSize(bytes: Uint8Array): number {
  return zlib.gzipSync(bytes, gzipOptions).length;
}

export function brotliSize(bytes: Uint8Array): number {
  return zlib.brotliCompressSync(bytes, brotliOptions(bytes)).length;
}

/** Sizes of the given files' contents. Files and codecs compress concurrently on libuv's thread pool (one after
 *  another they were 5 s of MobileNetV2-224's 20 s run: gzip -9 and brotli 9 of 14 MB, twice), at most PARALLEL at a
 *  time and counted as they stream (no compressed copy is kept); same sizes as the sync calls. */
export async function sizeOf(files: Uint8Array[], what: { brotli?: boolean } = {}): Promise<SizeFigures> {
  const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
  const [gzip, brotli] = await Promise.all([
    Promise.all(files.map(f => limited(() => streamedBytes(zlib.createGzip(gzipOptions), f)))).then(sum),
    what.brotli === false
      ? NaN
      : Promise.all(files.map(f => limited(() => streamedBytes(zlib.createBrotliCompress(brotliOptions(f)), f)))).then(sum),
  ]);
  return { raw: files.reduce((a, f) => a + f.length, 0), gzip, brotli, files: files.length };
}

/** Bytes a compressor writes for `bytes`, counted chunk by chunk. */
function streamedBytes(z: zlib.Gzip | zlib.BrotliCompress, bytes: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    z.on('data', (chunk: Buffer) => (n += chunk.length));
    z.on('end', () => resolve(n));
    z.on('error', reject);
    z.end(bytes);
  });
}

const PARALLEL = 4; // libuv's default pool size: more would only queue, each holding its encoder's memory (brotli: MBs)
let running = 0;
const waiting: (() => void)[] = [];

/** Runs fn when fewer than PARALLEL compressions run (across all callers); a finished one hands its slot on. */
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running < PARALLEL) running++;
  else await new Promise<void>(wake => waiting.push(wake));
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** The files a model.json names (itself first, then its shards in manifest order), read from disk. */
export function modelFiles(modelJsonPath: string): Uint8Array[] {
  const text = readInputFile(modelJsonPath, 'Model file', Number.MAX_SAFE_INTEGER, 'MODEL_FORMAT');
  let json: any;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch {
    throw new WoodFisherError(`${modelJsonPath} is not valid JSON.`, 'MODEL_FORMAT', { file: modelJsonPath });
  }
  const dir = path.dirname(modelJsonPath);
  const paths: string[] = (json?.weightsManifest ?? []).flatMap((g: any) => (Array.isArray(g?.paths) ? g.paths : []));
  // Called after loadModel confined and checked these paths; read as regular files all the same.
  return [
    new Uint8Array(text),
    ...paths.map(p => new Uint8Array(readInputFile(path.join(dir, p), 'Weight shard', Number.MAX_SAFE_INTEGER, 'MODEL_SHARD'))),
  ];
}
