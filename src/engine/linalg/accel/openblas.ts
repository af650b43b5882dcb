// OpenBLAS provider: the products and both factorizations of factors.ts as batched BLAS/LAPACK calls (dsyrk, dgemm,
// dpotrf, dtrtri, dtrmm) in the calling thread, through this package's own addon (native/linalg.c, linked statically
// with OpenBLAS; built by native/build.mjs where OpenBLAS is installed: Linux). One call a batch, no helper thread:
// ONNX Runtime has no Cholesky and runs each small matrix of a batched MatMul as its own GEMM (docs/performance.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WoodFisherError } from '../../types';
import { factorOutputBytes } from '../factors';
import type { FactorJob } from '../gemm';
import { takeBuffer } from '../scratch';
import { tryRequire } from './nodeRequire';
import { truncatedElf } from './elf';
import { checkSize, type GemmProvider, type Matrix } from './types';

type Failed = [matrix: number, pivot: number, value: number] | undefined;
interface Addon {
  gramCols(A: Matrix, k: number, m: number, count: number, C: Float64Array): void;
  gramRows(A: Matrix, m: number, k: number, count: number, C: Float64Array): void;
  matmul(A: Matrix, B: Matrix, m: number, k: number, n: number, count: number, C: Float64Array): void;
  matmulTN(A: Matrix, B: Matrix, k: number, m: number, n: number, count: number, C: Float64Array): void;
  gramFactor(G: Matrix, k: number, m: number, damp: number, count: number, R: Float64Array, r: Float64Array): Failed;
  rowGramFactor(G: Matrix, k: number, m: number, damp: number, count: number, Linv: Float64Array, H: Float64Array, h: Float64Array): Failed;
  gather(src: Matrix, ld: number, starts: Float64Array, k: number, m: number, count: number, out: Matrix): void;
  depthwiseSums(x: Float32Array, delta: Float32Array, geometry: Float64Array, acc: Float64Array): void;
  populate(a: Float32Array): number;
  config(): { config: string; core: string };
  abi?: number; // the interface's version (native/linalg.c); absent before version 2
}

/** The addon interface this code calls (native/linalg.c's `abi`). */
const ADDON_ABI = 4;

/** The addon's file name for this platform (native/build.mjs writes it). */
const OPENBLAS_FILE = `woodfisher-linalg-${process.platform}-${process.arch}.node`;

let loaded: { addon?: Addon; reason?: string } | undefined;

/** Where the addon is: dist/native/ beside the bundles, or the checkout's dist/native/ when run from the sources. */
export function openBlasFile(): string | undefined {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  return [path.join(here, 'native', OPENBLAS_FILE), path.join(here, '..', '..', '..', '..', 'dist', 'native', OPENBLAS_FILE)].find(f =>
    fs.existsSync(f),
  );
}

function load(): { addon?: Addon; reason?: string } {
  if (loaded) return loaded;
  const file = openBlasFile();
  if (!file) return (loaded = { reason: `no OpenBLAS addon for ${process.platform}-${process.arch} (${OPENBLAS_FILE})` });
  const cut = truncatedElf(file); // loading a cut file would end the process (SIGBUS), not throw
  if (cut) return (loaded = { reason: cut });
  // OpenBLAS starts its own thread pool when loaded unless told it gets one thread (the addon keeps it at one anyway)
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  const r = tryRequire<Addon>(file);
  if (!r.mod) return (loaded = { reason: r.error });
  const stale = staleAddon(r.mod, file);
  return (loaded = stale ? { reason: stale } : { addon: r.mod });
}

/** Why a loaded addon cannot serve this code (built from other sources), or undefined. */
export function staleAddon(addon: Pick<Addon, 'abi'>, file: string): string | undefined {
  if (addon.abi === ADDON_ABI) return undefined;
  return `${file} was built from other sources (interface ${addon.abi ?? 1}, this code needs ${ADDON_ABI}): rebuild it with \`npm run build:native\``;
}

/** Why the OpenBLAS provider is not usable here, or undefined when its addon loads. */
export function openBlasUnavailable(): string | undefined {
  return load().reason;
}

/** The addon's depthwise per-sample sums (gradients/kernelGrads.ts: the JS loop's results, bit for bit, vectorised),
 *  or undefined where the addon does not load. */
export function nativeDepthwiseSums(): Addon['depthwiseSums'] | undefined {
  return load().addon?.depthwiseSums;
}

/** Maps a large array's pages before it is written whole (native/linalg.c `populate`: one system call instead of a
 *  page fault every 4 KiB — MobileNetV2-224's 448 MB of gradient rows at N = 32 took 1.1 s to fill fresh, 0.55 s
 *  after this, on the 2-core VM of docs/performance.md); nothing where the addon or the kernel cannot. Returns a. */
export function populate(a: Float32Array): Float32Array {
  if (a.byteLength >= POPULATE_MIN_BYTES) load().addon?.populate(a);
  return a;
}
const POPULATE_MIN_BYTES = 2 ** 20; // below a MiB the faults cost less than the call

/** OpenBLAS's build and the kernel it picked for this CPU (bench, reports); undefined when not loaded. */
export function openBlasConfig(): { config: string; core: string } | undefined {
  return load().addon?.config();
}

export function openBlasProvider(): GemmProvider {
  const { addon, reason } = load();
  if (!addon) throw new Error(reason);
  const out = (len: number) => new Float64Array(takeBuffer(8 * len));
  /** The failed pivot as factors.ts's JS Cholesky words it. */
  const check = (failed: Failed, what: string) => {
    if (!failed) return;
    const [, j, v] = failed;
    throw new WoodFisherError(`${what} is not positive definite (pivot ${j} = ${v.toExponential(2)}); increase the damping λ`, 'NUMERIC');
  };
  /** C (len values, from the pool) written by `run`, after each operand is checked against its expected length. */
  const product = (what: string, operands: [Matrix, number][], len: number, run: (C: Float64Array) => void) => {
    operands.forEach(([X, n], i) => checkSize(`${what} ${'AB'[i]}`, X, n));
    const C = out(len);
    run(C);
    return C;
  };
  const factor = ({ name, G, k, m, damp, count, what }: FactorJob): Float64Array[] => {
    checkSize(`${name} G`, G, count * k * m);
    const parts = factorOutputBytes(name, k, m, count).map(bytes => out(bytes / 8));
    if (name === 'gramFactor') check(addon.gramFactor(G, k, m, damp, count, parts[0], parts[1]), what);
    else check(addon.rowGramFactor(G, k, m, damp, count, parts[0], parts[1], parts[2]), what);
    return parts;
  };
  return {
    name: 'openblas-f64',
    precision: 'float64',
    factor,
    gramCols: (A, k, m, c = 1) => product('gramCols', [[A, c * k * m]], c * m * m, C => addon.gramCols(A, k, m, c, C)),
    gramRows: (A, m, k, c = 1) => product('gramRows', [[A, c * m * k]], c * m * m, C => addon.gramRows(A, m, k, c, C)),
    matmulTN: (A, B, k, m, n, c = 1) =>
      product(
        'matmulTN',
        [
          [A, c * k * m],
          [B, c * k * n],
        ],
        c * m * n,
        C => addon.matmulTN(A, B, k, m, n, c, C),
      ),
    matmul: (A, B, m, k, n, c = 1) =>
      product(
        'matmul',
        [
          [A, c * m * k],
          [B, c * k * n],
        ],
        c * m * n,
        C => addon.matmul(A, B, m, k, n, c, C),
      ),
    gather: (src, ld, starts, k, m, count, out) => addon.gather(src, ld, starts, k, m, count, out),
    dispose: () => {}, // no sessions or threads: the addon holds nothing between calls
  };
}
