// Routes the Fisher math's products to the fastest float64 provider that loads — OpenBLAS (this package's addon,
// Linux), then onnxruntime-node — and small ones to plain JS, where a native call costs more than the arithmetic.
// Imports the providers it may use one by one (not ./accel): the block worker threads load this, and must not load TF.js.
import { jsProvider } from './accel/js';
import NATIVE_FILES from './accel/platforms.json';
import { onnxRuntimeProvider, onnxRuntimeUnavailable } from './accel/onnxruntime';
import { openBlasProvider, openBlasUnavailable } from './accel/openblas';
import OPENBLAS_PLATFORMS from './accel/openblas-platforms.json';
import type { GemmProvider } from './accel/types';
import { setGemmBackend, type GemmBackend, type Matrix } from './gemm';
import { factorWork, type FactorJob } from './factors';
import { WoodFisherError } from '../types';

// Multiply-adds below which plain JS wins (batches count their whole work, linalg/gemm.ts): onnxruntime's call costs
// ~45 µs through the helper thread (2×2 products, session reused), the addon's ~1 µs in this thread, and the JS
// kernels do ~1e9 multiply-adds/s.
const SMALL: Record<string, number> = { 'openblas-f64': 2e3, 'onnxruntime-f64': 5e4 };

/** What `auto` may pick, fastest first; WOODFISHER_LINALG (one of these names, or js) pins one for every thread. */
const NATIVE = { 'openblas-f64': openBlasProvider, 'onnxruntime-f64': () => onnxRuntimeProvider({ precision: 'float64', threads: 1 }) };
export type LinalgName = keyof typeof NATIVE | 'js';

let active: string | undefined;
let provider: GemmProvider | undefined;
let fallback: string | undefined;

/**
 * Installs the provider (once per process and thread) and returns its name for the report: 'openblas-f64',
 * 'onnxruntime-f64' or 'js'. One native thread each: on this 2-core class of machine a 2-thread pool gained nothing
 * on 1000³ products and collapsed when the other core was busy (TF.js, the editor); the engine runs blocks in parallel.
 */
export function useFastestGemm(name: 'auto' | LinalgName = 'auto', small?: number): string {
  if (active !== undefined && name === 'auto') return active;
  const pinned = name === 'auto' ? pinnedLinalg() : name;
  let p: GemmProvider | undefined;
  const reasons: string[] = [];
  for (const [n, make] of Object.entries(NATIVE)) {
    if (p || (pinned && pinned !== n)) continue;
    try {
      p = make();
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  if (!p && pinned && pinned !== 'js')
    throw new WoodFisherError(`WOODFISHER_LINALG=${pinned}, but it does not load here: ${reasons[0]}`, 'OPTIONS');
  // the notice is about onnxruntime-node (what every platform but Linux relies on); OpenBLAS missing is no loss there
  fallback = p || pinned === 'js' ? undefined : reasons[reasons.length - 1]; // auto: onnxruntime's reason
  p ??= jsProvider();
  setGemmBackend(p.name === 'js' ? undefined : hybrid(p, small ?? SMALL[p.name]));
  provider = p;
  active = p.name;
  return active;
}

/** WOODFISHER_LINALG, when it names a provider; anything else is refused in one line (the CLI asks before any work). */
export function pinnedLinalg(): LinalgName | undefined {
  const v = process.env.WOODFISHER_LINALG;
  if (!v) return undefined;
  if (v === 'js' || v in NATIVE) return v as LinalgName;
  throw new WoodFisherError(`WOODFISHER_LINALG must be one of ${[...Object.keys(NATIVE), 'js'].join(', ')} (got '${v}')`, 'OPTIONS');
}

/** What a run that computes gradients tells its user about the native products (undefined: nothing to say): the
 *  Fisher products in plain JS and why; onnxruntime where this platform's packages carry the faster OpenBLAS addon and
 *  it did not load; or, with OpenBLAS running the Fisher products, onnxruntime-node missing where it ships — the
 *  per-sample gradients' products then run on TF.js. */
export function linalgNotice(): string | undefined {
  if (fallback) return nativeGemmNotice(fallback);
  const platform = `${process.platform}-${process.arch}`;
  if (process.env.WOODFISHER_LINALG) return undefined; // the user chose
  const blas = openBlasUnavailable();
  if (active === 'onnxruntime-f64' && blas && OPENBLAS_PLATFORMS.includes(platform)) return openBlasNotice(blas);
  const ort = active === 'openblas-f64' ? onnxRuntimeUnavailable() : undefined;
  if (ort && NATIVE_PLATFORMS.includes(platform)) return gradientProductsNotice(ort, platform);
  return undefined;
}

/** onnxruntime-node does not load where it ships, while OpenBLAS runs the Fisher products: the per-sample gradients'
 *  conv and dense products fall back to TF.js (MobileNetV2-224: 0.15 against 0.39 samples/s, docs/performance.md (m)). */
export function gradientProductsNotice(reason: string, platform = `${process.platform}-${process.arch}`): string {
  return `the per-sample gradient pass and its conv and dense products run on TF.js, about 4× slower than on onnxruntime-node (MobileNetV2-224), which does not load here (${reason}). Fix: ${onnxRuntimeFix(reason, platform)}.`;
}

/** The OpenBLAS addon of a platform that ships it did not load (a damaged install, or a checkout built without it). */
export function openBlasNotice(reason: string): string {
  return (
    `the Fisher blocks run on onnxruntime-node, about 2× slower than on this package's OpenBLAS addon, which does not load here (${reason}). ` +
    'Fix: reinstall — in VS Code the VSIX for your platform, for the CLI `npm install -g woodfisher`; in a checkout ' +
    '`apt-get install libopenblas-dev` then `npm run build:native`.'
  );
}

/** The platforms onnxruntime-node (and so the npm package and their VSIX) carries a CPU binary for. */
export const NATIVE_PLATFORMS: readonly string[] = Object.entries(NATIVE_FILES as Record<string, string[]>)
  .filter(([, files]) => files.length > 0)
  .map(([platform]) => platform);

/** What a user reads when the Fisher products fell back to plain JS: the cause, the cost, and a fix that works for
 *  that cause on that platform (docs/packaging.md). `platform` is process.platform-process.arch. */
export function nativeGemmNotice(reason: string, platform = `${process.platform}-${process.arch}`): string {
  const slow = 'the Fisher products run in plain JavaScript, 20–30× slower than native';
  const elsewhere = 'the native products load on Linux, Windows and Apple-silicon machines (Remote-SSH runs the worker there)';
  // onnxruntime-node 1.24+ has no Intel-macOS binary (upstream stopped building it): nothing to install here.
  if (platform === 'darwin-x64') {
    return `${slow}: onnxruntime-node has no build for macOS on Intel since version 1.24 (${reason}). Fix: none on this Mac; ${elsewhere}.`;
  }
  if (!NATIVE_PLATFORMS.includes(platform)) {
    return `${slow}: onnxruntime-node has no build for ${platform} (${reason}). Fix: none on this machine; ${elsewhere}.`;
  }
  if (/Cannot find module 'onnxruntime-node'/.test(reason)) return `${slow} (${reason}). Fix: ${onnxRuntimeFix(reason, platform)}.`;
  return `${slow}: onnxruntime-node is installed but its native library does not load here (${reason}). Fix: ${onnxRuntimeFix(reason, platform)}.`;
}

/** How to get onnxruntime-node loading on a platform it ships for, for the reason it did not. */
function onnxRuntimeFix(reason: string, platform: string): string {
  const windows = platform.startsWith('win32')
    ? '; on Windows onnxruntime needs the Microsoft Visual C++ Redistributable (MSVCP140.dll)'
    : '';
  const reinstall =
    'in VS Code install the VSIX built for your platform; for the CLI reinstall with ' +
    "`ONNXRUNTIME_NODE_INSTALL=skip npm install -g woodfisher` (onnxruntime-node's install script downloads CUDA " +
    'libraries on linux-x64 and removes itself when that fails)';
  if (/Cannot find module 'onnxruntime-node'/.test(reason)) return `${reinstall}${windows}`;
  // Installed, but its binary is missing or does not load: a system library it needs, or a damaged install.
  return `provide what the loader's message names${windows}; for a damaged install: ${reinstall}`;
}

/** Frees the native sessions (a worker thread does this before it exits: native code must not be torn down mid-call). */
export function releaseGemm(): void {
  provider?.dispose();
  provider = undefined;
  active = undefined;
  setGemmBackend(undefined);
}

function hybrid(fast: GemmProvider, small: number): GemmBackend {
  const js = jsProvider();
  const pick = (work: number) => (work < small ? js : fast);
  return {
    // a batch counts as one call: its whole work decides
    gramCols: (A: Matrix, k: number, m: number, c = 1) => pick((c * k * m * m) / 2).gramCols(A, k, m, c),
    gramRows: (A: Matrix, m: number, k: number, c = 1) => pick((c * k * m * m) / 2).gramRows(A, m, k, c),
    matmulTN: (A: Matrix, B: Matrix, k: number, m: number, n: number, c = 1) => pick(c * k * m * n).matmulTN(A, B, k, m, n, c),
    matmul: (A: Matrix, B: Matrix, m: number, k: number, n: number, c = 1) => pick(c * k * m * n).matmul(A, B, m, k, n, c),
    // tiny blocks (below a product's native threshold) keep the JS Cholesky
    ...(fast.factor && {
      factor: (job: FactorJob) => (pick(job.count * factorWork(job.name, job.k, job.m)) === fast ? fast.factor!(job) : undefined),
    }),
    ...(fast.gather && { gather: fast.gather }),
  };
}
