// `npm run bench [-- --smoke] [-- --only a,b,c,d] [-- --budget S]`: the performance tables of docs/performance.md.
// Every figure is a ratio measured in this same run (the machine is shared and noisy): each Fisher form against the
// paper's recursive algorithm, gemm parts against the provider's own matMul rate, batched against one-at-a-time
// gradients, peak RSS against the memory plan. Writes bench-results/bench-<date>.json.
//   (a) matMul GFLOP/s per provider      (b) Fisher-inverse stage, N × d with blocks of B
//   (b2) many small Fisher blocks through the block runner, built and kept+updated, against their arithmetic
//        (--b2-samples 32,64,128, --b2-rounds 3, --b2-linalg openblas-f64,onnxruntime-f64)
//   (c) per-sample gradients, samples/s   (d) end-to-end runPrune, stage times and peak RSS (each run in a child process)
//   (s) structured pruning: OBS vs L1-norm filters at equal structure / FLOPs, one shot and fine-tuned; latency (bench/structured.ts)
//   (r) the memory plan against whole-process peak RSS on MobileNetV2-224 at N = 32 … 512, and at N = 512 under a limit
//       that makes it stream the gradients (--rss-samples 32,512,512@5GB; N@stream: just under the in-memory plan);
//       --rss-structure neurons: structured runs (30% of units) instead; --rss-input 32: MobileNetV2-32
//   (p) per-sample gradient products on MobileNetV2's conv shapes: public onnxruntime API (awaited) vs the private binding
//   (m) per-sample gradients of MobileNetV2-224 against PyTorch's per-sample loop, measured in this run (bench/mobilenet.ts)
//   (g) gradual pruning: gradual WoodFisher vs gradual global magnitude vs one shot at 95/98%, 3 seeds (bench/gradual.ts)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { initBackend, tf } from '../src/engine/backend';
import { fisherBlockInverse, chooseForm } from '../src/engine/fisher/inverse';
import { blockRanges, gatherBlock } from '../src/engine/fisher/blocks';
import { setGemmBackend } from '../src/engine/linalg/gemm';
import { useFastestGemm } from '../src/engine/linalg/fastest';
import { sharedFloat32 } from '../src/engine/linalg/scratch';
import { jobBlocks } from '../src/engine/step';
import {
  GemmProvider,
  flops,
  jsProvider,
  tfjsProvider,
  onnxRuntimeProvider,
  onnxRuntimeUnavailable,
  openBlasProvider,
  openBlasUnavailable,
  openBlasConfig,
} from '../src/engine/linalg/accel';
import { formatNpy } from '../src/engine/data/npy';
import { DEFAULT_GRADUAL, DEFAULT_OPTIONS, type GradualEvent, type GradualOptions, type PruneOptions } from '../src/engine/types';
import { formatBytes, parseBytes } from '../src/engine/report/bytes';
import { mulberry32 } from '../src/engine/data/random';
import { sectionS } from './structured';
import { sectionM } from './mobilenet';
import { sectionG } from './gradual';
import { sectionP } from './perSampleProducts';
import { floorSeconds } from './fisherFloor';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SMOKE = flag('smoke');
const ONLY = new Set((opt('only') ?? 'a,b,c,d,p,s,m,r,g').split(','));
const BUDGET = Number(opt('budget') ?? (SMOKE ? 1 : 12)); // seconds of measurement per variant (b, c)
const ROOT = findRoot();

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  mode: SMOKE ? 'smoke' : 'full',
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  loadavg: os.loadavg(),
};

function findRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'src', 'engine'))) return d;
    if (path.dirname(d) === d) return process.cwd();
  }
}

// ---------------------------------------------------------------- helpers
const now = () => performance.now() / 1000;
const f = (x: number | undefined, digits = 2) =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(digits);
const fx = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×`);
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(0)}%`);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** Minimum wall time of fn over repetitions (at least `reps`, and at least `minSeconds` in total). */
function timeMin(fn: () => unknown, reps = 3, minSeconds = 0.3): number {
  fn(); // warm-up (JIT, session creation, wasm memory growth)
  let best = Infinity,
    total = 0,
    i = 0;
  while (i < reps || total < minSeconds) {
    const t = now();
    fn();
    const dt = now() - t;
    best = Math.min(best, dt);
    total += dt;
    i++;
    if (i >= 50) break;
  }
  return best;
}

function table(title: string, head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map(r => r.map(String))];
  const w = head.map((_, j) => Math.max(...cells.map(r => (r[j] ?? '').length)));
  console.log(`\n${title}`);
  cells.forEach((r, i) => {
    console.log('| ' + r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join(' | ') + ' |');
    if (i === 0) console.log('|' + w.map((x, j) => (j === 0 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|') + '|');
  });
}

function skipped(section: string, reason: string): void {
  console.log(`\n${section}: skipped: ${reason}`);
  results[section] = { skipped: reason };
}

function randn(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

/** Wraps a provider to count the flops and seconds spent inside its products. */
function metered(p: GemmProvider) {
  const m = { flops: 0, seconds: 0, calls: 0 };
  const wrap =
    <A extends unknown[]>(fn: (...a: A) => Float64Array, fl: (...a: A) => number) =>
    (...a: A) => {
      const t = now();
      const r = fn(...a);
      m.seconds += now() - t;
      m.flops += fl(...a);
      m.calls++;
      return r;
    };
  const provider: GemmProvider = {
    ...p,
    gramCols: wrap(
      (A, k, mm) => p.gramCols(A, k, mm),
      (_A, k, mm) => flops.gramCols(k, mm),
    ),
    gramRows: wrap(
      (A, mm, k) => p.gramRows(A, mm, k),
      (_A, mm, k) => flops.gramRows(mm, k),
    ),
    matmulTN: wrap(
      (A, B, k, mm, n) => p.matmulTN(A, B, k, mm, n),
      (_A, _B, k, mm, n) => flops.matmulTN(k, mm, n),
    ),
    matmul: wrap(
      (A, B, mm, k, n) => p.matmul(A, B, mm, k, n),
      (_A, _B, mm, k, n) => flops.matmul(mm, k, n),
    ),
  };
  return {
    provider,
    m,
    reset: () => {
      m.flops = 0;
      m.seconds = 0;
      m.calls = 0;
    },
  };
}

interface ProviderEntry {
  name: string;
  make: () => GemmProvider;
  backend?: string;
}

function providerEntries(): ProviderEntry[] {
  const list: ProviderEntry[] = [
    { name: 'tfjs-wasm', make: tfjsProvider, backend: 'wasm' },
    { name: 'tfjs-cpu', make: tfjsProvider, backend: 'cpu' },
    { name: 'js', make: jsProvider },
  ];
  if (!onnxRuntimeUnavailable()) {
    list.push({ name: 'onnxruntime-f32', make: () => onnxRuntimeProvider({ precision: 'float32', threads: 1 }) });
    list.push({ name: 'onnxruntime-f64', make: () => onnxRuntimeProvider({ precision: 'float64', threads: 1 }) });
  }
  if (!openBlasUnavailable()) list.push({ name: 'openblas-f64', make: openBlasProvider });
  return list;
}

async function useBackend(name: string): Promise<boolean> {
  if (name === 'wasm') {
    await initBackend('wasm');
    return true;
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  return ok;
}

// ---------------------------------------------------------------- (a) matMul rates
const rates: Record<string, { matmul: number; gram: number }> = {};

async function sectionA(): Promise<void> {
  const n = SMOKE ? 128 : 1000;
  const rounds = SMOKE ? 2 : 4;
  const rows: (string | number)[][] = [];
  const out: Record<string, unknown> = { n, rounds };
  const rand = mulberry32(1);
  const A = Float32Array.from({ length: n * n }, () => rand() - 0.5);
  const B = Float32Array.from({ length: n * n }, () => rand() - 0.5);
  // Providers take turns, round after round, and each keeps its best time: on a shared machine the load changes
  // by the second, and interleaving exposes every provider to the same conditions.
  const entries = providerEntries();
  const best = new Map<string, { s: number; tm: number; tg: number; precision: string }>();
  for (let round = 0; round < rounds; round++) {
    for (const e of entries) {
      // the slow ones are measured on a smaller product (their rate hardly depends on size past the caches)
      const s = e.name === 'tfjs-cpu' || e.name === 'js' ? Math.min(n, 384) : n;
      if (e.backend && !(await useBackend(e.backend))) continue;
      const p = e.make();
      try {
        if (round === 0) {
          p.matmul(A, B, s, s, s);
          p.gramCols(A, s, s);
        } // warm-up: sessions, JIT, wasm memory
        let t = now();
        p.matmul(A, B, s, s, s);
        const tm = now() - t;
        t = now();
        p.gramCols(A, s, s);
        const tg = now() - t;
        const b = best.get(e.name);
        best.set(e.name, { s, tm: Math.min(tm, b?.tm ?? Infinity), tg: Math.min(tg, b?.tg ?? Infinity), precision: p.precision });
      } finally {
        p.dispose();
      }
    }
  }
  await initBackend('wasm');
  for (const e of entries) {
    const b = best.get(e.name);
    if (!b) {
      rows.push([e.name, 'backend not available', '', '', '', '']);
      continue;
    }
    rates[e.name] = { matmul: flops.matmul(b.s, b.s, b.s) / b.tm / 1e9, gram: flops.gramCols(b.s, b.s) / b.tg / 1e9 };
    out[e.name] = { size: b.s, precision: b.precision, ...rates[e.name] };
  }
  const base = rates['tfjs-wasm']?.matmul;
  for (const [name, r] of Object.entries(rates)) {
    const o = out[name] as { precision: string; size: number };
    rows.push([name, o.precision, o.size, f(r.matmul), f(r.gram), fx(r.matmul / base)]);
  }
  table(
    `(a) matMul rate, square products, best of ${rounds} interleaved rounds (GFLOP/s, a multiply-add = 2 flops; gram = AᵀA, full result)`,
    ['provider', 'precision', 'n', 'matmul GFLOP/s', 'gram GFLOP/s', 'matmul × wasm'],
    rows,
  );
  results.matmul = out;
}

// ---------------------------------------------------------------- (b) Fisher-inverse stage
type Form = 'primal' | 'dual' | 'recursive';
interface Variant {
  label: string;
  form: Form;
  provider?: ProviderEntry;
}

/** Synthetic per-sample gradients, N × d float32: Gaussian, column scales log-uniform in [1e-4, 1e-2] (a Fisher
 *  diagonal from 1e-8 to 1e-4, like the examples' layers), so λ = 1e-8 really tests the numerics. */
function syntheticGradients(n: number, d: number, seed: number, G: Float32Array = new Float32Array(n * d)): Float32Array {
  const rand = mulberry32(seed);
  const scale = Float32Array.from({ length: d }, () => 10 ** (-4 + 2 * rand()));
  for (let k = 0; k < n; k++) for (let j = 0; j < d; j++) G[k * d + j] = randn(rand) * scale[j];
  return G;
}

/** Useful flops of one block (a multiply-add = 2), the counts fisher/inverse.ts uses to choose the form. */
function formFlops(form: Form, n: number, b: number): number {
  if (form === 'recursive') return 2 * 2 * n * b * b;
  if (form === 'primal') return 2 * (0.5 * n * b * b + (7 / 6) * b ** 3);
  return 2 * (2 * n * n * b + n ** 3 / 3);
}

function relErr(x: Float64Array, r: Float64Array): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < r.length; i++) {
    num += (x[i] - r[i]) ** 2;
    den += r[i] ** 2;
  }
  return Math.sqrt(num / den);
}

async function sectionB(): Promise<void> {
  const N = SMOKE ? 64 : 1000,
    d = SMOKE ? 2000 : 32000,
    B = SMOKE ? 250 : 1000,
    damp = 1e-5;
  const G = syntheticGradients(N, d, 7);
  const ranges = blockRanges(d, B);
  const providers = providerEntries().filter(e => e.name !== 'js' && e.name !== 'tfjs-cpu');
  const variants: Variant[] = [{ label: 'recursive (paper)', form: 'recursive' }];
  for (const form of ['primal', 'dual'] as const) {
    variants.push({ label: `${form}, js`, form });
    for (const p of providers) variants.push({ label: `${form}, ${p.name}`, form, provider: p });
  }
  const block0 = gatherBlock(G, N, d, ranges[0]);
  // float64 references for block 0's diagonal (primal, engine's own js products) at the run's λ and at λ = 1e-8
  setGemmBackend();
  const ref: Record<number, Float64Array> = {
    [damp]: fisherBlockInverse(block0, N, B, damp, 'primal').diag(),
    1e-8: fisherBlockInverse(block0, N, B, 1e-8, 'primal').diag(),
  };

  const out: Record<string, unknown>[] = [];
  let recursiveStage = NaN;
  for (const v of variants) {
    let meter: ReturnType<typeof metered> | undefined;
    let p: GemmProvider | undefined;
    try {
      if (v.provider) {
        await useBackend(v.provider.backend ?? 'wasm');
        p = v.provider.make();
        meter = metered(p);
        setGemmBackend(meter.provider);
      } else setGemmBackend();
      const errs: Record<string, number> = {};
      for (const lam of [damp, 1e-8]) {
        try {
          errs[lam] = relErr(fisherBlockInverse(block0, N, B, lam, v.form).diag(), ref[lam]);
        } catch (e) {
          errs[lam] = NaN;
        }
      }
      // the provider's own square matMul rate, measured right here so it shares the stage's machine load
      let own: number | undefined;
      if (p) {
        const s = Math.min(B, N),
          X = G.subarray(0, s * s);
        own = flops.matmul(s, s, s) / timeMin(() => p!.matmul(X, X, s, s, s), 2, 0) / 1e9;
      }
      meter?.reset();
      let done = 0,
        seconds = 0;
      const t0 = now();
      while (done < ranges.length && (done === 0 || now() - t0 < BUDGET)) {
        const Gb = gatherBlock(G, N, d, ranges[done]);
        const t = now();
        const inv = fisherBlockInverse(Gb, N, ranges[done].end - ranges[done].start, damp, v.form);
        inv.diag();
        seconds += now() - t;
        done++;
      }
      const perBlock = seconds / done;
      const stage = perBlock * ranges.length;
      if (v.form === 'recursive') recursiveStage = stage;
      const gemmRate = meter && meter.m.seconds > 0 ? meter.m.flops / meter.m.seconds / 1e9 : undefined;
      out.push({
        variant: v.label,
        form: v.form,
        provider: p?.name ?? 'js',
        precision: p?.precision ?? 'float64',
        blocksMeasured: done,
        blocks: ranges.length,
        secondsPerBlock: perBlock,
        stageSeconds: stage,
        speedupVsRecursive: recursiveStage / stage,
        gflops: formFlops(v.form, N, B) / perBlock / 1e9,
        gemmShare: meter ? meter.m.seconds / seconds : undefined,
        gemmGflops: gemmRate,
        ownMatmulGflops: own,
        gemmVsMatmul: gemmRate !== undefined && own ? gemmRate / own : undefined,
        diagRelErr: errs[damp],
        diagRelErr1e8: errs[1e-8],
      });
    } catch (e) {
      out.push({ variant: v.label, error: (e as Error).message });
    } finally {
      setGemmBackend();
      p?.dispose();
    }
  }
  await initBackend('wasm');
  const rows = out.map(r =>
    r.error
      ? [r.variant as string, `error: ${r.error}`, '', '', '', '', '', '', '']
      : [
          r.variant as string,
          `${r.blocksMeasured}/${r.blocks}`,
          f(r.stageSeconds as number),
          fx(r.speedupVsRecursive as number),
          f(r.gflops as number),
          pct(r.gemmShare as number | undefined),
          f(r.gemmGflops as number | undefined),
          pct(r.gemmVsMatmul as number | undefined),
          `${(r.diagRelErr as number).toExponential(1)} / ${(r.diagRelErr1e8 as number).toExponential(1)}`,
        ],
  );
  table(
    `(b) Fisher-inverse stage, N = ${N}, d = ${d}, B = ${B} (${ranges.length} blocks), λ = ${damp}; auto picks ${chooseForm(N, B)}.\n` +
      `    stage s = mean s per block × blocks (blocks measured within ${BUDGET} s per variant); gemm = time inside the provider's products;\n` +
      `    "of matMul" = gemm GFLOP/s ÷ the provider's own ${Math.min(B, N)}² matMul rate measured just before the variant; diag err = ‖diag − diag_ref‖/‖diag_ref‖ vs float64 primal at λ = ${damp} / 1e-8`,
    ['variant', 'blocks', 'stage s', '× recursive', 'GFLOP/s', 'gemm share', 'gemm GFLOP/s', 'of matMul', 'diag err'],
    rows,
  );
  results.fisher = { N, d, B, damp, autoForm: chooseForm(N, B), variants: out };
}

// ---------------------------------------------------------------- (b2) many small Fisher blocks
/** The issue's case: thousands of blocks of 128 at N = 32 … 128, built the way a run builds them (per-block jobs into
 *  a block runner, gathered from an N × d gradient matrix), one block per call against batched. "× arithmetic" =
 *  measured seconds ÷ (the blocks' flops ÷ (threads × the float64 product rate measured just before and after));
 *  "CPU × arithmetic" = the same in CPU seconds of the whole process (every thread), against the product's flops per
 *  CPU second: on a shared machine waiting for a core inflates the wall-clock ratio, not this one. */
async function sectionSmallBlocks(): Promise<void> {
  // every float64 provider that loads here (--b2-linalg: some of them), each timed as a run uses it
  // (WOODFISHER_LINALG pins the block threads too)
  const asked = opt('b2-linalg')?.split(',');
  const linalgs = (['openblas-f64', 'onnxruntime-f64'] as const)
    .filter(n => (n === 'openblas-f64' ? !openBlasUnavailable() : !onnxRuntimeUnavailable()))
    .filter(n => !asked || asked.includes(n));
  if (!linalgs.length) {
    skipped('smallBlocks', `no float64 provider loads here${asked ? ` among ${asked.join(', ')}` : ''} (OpenBLAS addon, onnxruntime-node)`);
    return;
  }
  const { blockPool, inlineRunner, forEachBounded } = await import('../src/engine/fisher/blockPool');
  const { blocksPerBatch } = await import('../src/engine/fisher/inverse');
  const { releaseGemm } = await import('../src/engine/linalg/fastest');
  const B = 128,
    count = SMOKE ? 96 : 20000, // the issue's 20,000: fewer would time the pool's first-touch pages, not the steady state
    damp = 1e-5,
    d = count * B;
  const samples = (opt('b2-samples') ?? (SMOKE ? '128' : '32,64,128')).split(',').map(Number);
  const rounds = Number(opt('b2-rounds') ?? (SMOKE ? 1 : 3)); // fresh runner each round; the median is shown
  const products = linalgs.map(n =>
    n === 'openblas-f64' ? openBlasProvider() : onnxRuntimeProvider({ precision: 'float64', threads: 1 }),
  );
  const S = 512,
    X = syntheticGradients(S, S, 5);
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  /** GFLOP per second and per CPU second of the S² float64 product, best of 3 on each provider here: the arithmetic's
   *  time is counted at the best product rate this machine offers, whichever provider runs the blocks. */
  const rate = () => {
    let wall = Infinity,
      cpus = Infinity;
    for (const p of products)
      for (let i = 0; i < 3; i++) {
        const c = cpu(),
          t = now();
        p.matmul(X, X, S, S, S);
        wall = Math.min(wall, now() - t);
        cpus = Math.min(cpus, cpu() - c);
      }
    return { wall: flops.matmul(S, S, S) / wall / 1e9, cpu: flops.matmul(S, S, S) / cpus / 1e9 };
  };
  const threads = Math.max(2, Math.min(4, os.cpus().length));
  const out: Record<string, unknown>[] = [];
  const floors: { N: number; form: string; batch: number; floor: Awaited<ReturnType<typeof floorSeconds>> }[] = [];
  for (const N of samples) {
    const G = syntheticGradients(N, d, 11, sharedFloat32(N * d)); // in shared memory, as a run's gradient rows
    const ranges = blockRanges(d, B);
    // a job as a run sends it (step.ts's jobRefs): `k` consecutive blocks (unit weights: the bench times the inverse)
    const job = (r: (typeof ranges)[number], k: number, id: number, keep: boolean) => ({
      op: 'build' as const,
      id,
      G: { rows: G, n: N, d, start: r.start, end: r.start + k * B }, // gathered with its batch, as a run does
      n: N,
      b: B,
      blocks: k,
      damp,
      form: 'auto' as const,
      w: new Float64Array(k * B).fill(1),
      taylor: false,
      keep,
    });
    // its independent OBS update with the kept inverses (every other weight pruned)
    const everyOther = Uint8Array.from({ length: 64 * B }, (_, q) => q % 2);
    const update = (k: number, id: number) => ({
      op: 'update' as const,
      id,
      w: new Float64Array(k * B).fill(1),
      mask: everyOther.slice(0, k * B),
      kind: 'independent' as const,
    });
    const form = chooseForm(N, B),
      batch = blocksPerBatch(N, B, 'auto');
    const floor = linalgs.includes('onnxruntime-f64')
      ? await floorSeconds(N, B, batch, damp) // the batch's products and Cholesky alone (bench/fisherFloor.ts)
      : 'onnxruntime-node not loaded';
    floors.push({ N, form, batch, floor });
    const variants = linalgs.flatMap(linalg => [
      ...(N === Math.max(...samples) && linalg === 'onnxruntime-f64'
        ? [{ linalg, label: 'one block per call, 1 thread', make: () => inlineRunner(1), threads: 1, keep: false }]
        : []),
      { linalg, label: `batches of ${batch}, 1 thread`, make: () => inlineRunner(batch), threads: 1, keep: false },
      { linalg, label: `batches of ${batch}, ${threads} threads`, make: () => blockPool(threads, batch), threads, keep: false },
      { linalg, label: `kept, then updated, 1 thread`, make: () => inlineRunner(batch), threads: 1, keep: true },
      { linalg, label: `kept, then updated, ${threads} threads`, make: () => blockPool(threads, batch), threads, keep: true },
    ]);
    for (const v of variants) {
      const measured: Record<string, number>[] = [];
      for (let round = 0; round < rounds; round++) {
        releaseGemm();
        process.env.WOODFISHER_LINALG = v.linalg;
        useFastestGemm(); // the run's own products (each block thread does the same)
        const runner = v.make();
        const k = jobBlocks(runner.batch),
          inFlight = Math.ceil(runner.capacity / k);
        const runs = (rs: typeof ranges) => rs.flatMap((r, i) => (i % k === 0 ? [{ r, k: Math.min(k, rs.length - i) }] : []));
        try {
          // warm-up: one batch on every thread (sessions, JIT)
          await forEachBounded(
            runs(ranges.slice(0, v.threads * batch)).map((x, i) => ({ ...x, id: -1 - i })),
            inFlight,
            async ({ r, k, id }) => {
              await runner.build(job(r, k, id, false));
            },
          );
          const r0 = rate();
          const built: { k: number; id: number }[] = [];
          const t = now(),
            c0 = cpu();
          const todo = runs(ranges).map((x, id) => ({ ...x, id }));
          await forEachBounded(todo, inFlight, async ({ r, k, id }) => {
            if (now() - t > 2 * BUDGET) return; // the slow variant: a prefix of the blocks, scaled below
            await runner.build(job(r, k, id, v.keep));
            built.push({ k, id });
          });
          const seconds = now() - t,
            cpuSeconds = cpu() - c0;
          const tu = now();
          if (v.keep) await forEachBounded(built, inFlight, async ({ k, id }) => void (await runner.update(update(k, id))));
          const updateSeconds = v.keep ? now() - tu : NaN;
          const r1 = rate(),
            done = built.reduce((a, x) => a + x.k, 0);
          const gflops = (r0.wall + r1.wall) / 2,
            cpuGflops = (r0.cpu + r1.cpu) / 2,
            work = done * formFlops(form, N, B);
          measured.push({
            blocks: done,
            seconds,
            cpuSeconds,
            updateSeconds,
            gflops,
            cpuGflops,
            timesArithmetic: seconds / (work / (v.threads * gflops * 1e9)),
            cpuTimesArithmetic: cpuSeconds / (work / (cpuGflops * 1e9)),
          });
        } finally {
          await runner.close();
        }
      }
      const mid = [...measured].sort((a, b) => a.seconds - b.seconds)[Math.floor((measured.length - 1) / 2)];
      const span = (key: string) => [Math.min(...measured.map(m => m[key])), Math.max(...measured.map(m => m[key]))];
      out.push({
        N,
        form,
        linalg: v.linalg,
        variant: v.label,
        blocks: mid.blocks,
        of: count,
        seconds: mid.seconds,
        cpuSeconds: mid.cpuSeconds,
        updateSeconds: v.keep ? mid.updateSeconds : undefined,
        secondsPer20k: (mid.seconds / mid.blocks) * 20000,
        productGflops: mid.gflops,
        productGflopsPerCpuSecond: mid.cpuGflops,
        threads: v.threads,
        timesArithmetic: mid.timesArithmetic,
        timesArithmeticRange: span('timesArithmetic'),
        cpuTimesArithmetic: mid.cpuTimesArithmetic,
        rounds: measured,
        ...(v.linalg !== 'onnxruntime-f64'
          ? {}
          : typeof floor === 'string'
            ? { floor }
            : {
                productsAlone: floor.products / (formFlops(form, N, B) / (mid.gflops * 1e9)),
                factorAlone: floor.factor / (formFlops(form, N, B) / (mid.gflops * 1e9)),
              }),
      });
    }
  }
  for (const p of products) p.dispose();
  releaseGemm();
  delete process.env.WOODFISHER_LINALG;
  const blas = openBlasConfig(); // which of OpenBLAS's kernels ran (DYNAMIC_ARCH picks one for the CPU)
  table(
    `(b2) many small Fisher blocks of ${B}, λ = ${damp}, through the block runner as a run builds them${blas ? ` (OpenBLAS ${blas.core})` : ''}.\n` +
      `    × arithmetic = seconds ÷ (flops ÷ (threads × the fastest float64 ${S}² matMul rate here (${linalgs.join(', ')}), measured before and after)); CPU × arithmetic = CPU seconds (all threads) ÷ (flops ÷ that product's GFLOP per CPU second); "per 20k" scales to the issue's 20,000 blocks\n` +
      `    median of ${rounds} round${rounds === 1 ? '' : 's'}, each with a fresh runner (× arithmetic: median, then the range); "kept, then updated": the build keeps the inverses (fresh memory per block), then the independent OBS update of every block with them (update s)\n` +
      `    floor (onnxruntime rows; bench/fisherFloor.ts), × the same arithmetic: a batch's counted products alone, and its whole factorization alone (factors.ts's steps as session runs on ready float64 operands): what no batching around them removes`,
    [
      'N',
      'form',
      'linalg',
      'variant',
      'blocks',
      's',
      's per 20k blocks',
      'update s',
      'CPU ms/block',
      'matMul GFLOP/s',
      '× arithmetic',
      'CPU × arithmetic',
      'floor: products',
      'floor: factorization',
    ],
    out.map(r => [
      String(r.N),
      r.form as string,
      r.linalg as string,
      r.variant as string,
      `${r.blocks}/${r.of}`,
      f(r.seconds as number),
      f(r.secondsPer20k as number),
      f(r.updateSeconds as number | undefined),
      f((1000 * (r.cpuSeconds as number)) / (r.blocks as number), 3),
      f(r.productGflops as number),
      `${fx(r.timesArithmetic as number)}${(r.rounds as unknown[]).length > 1 ? ` (${(r.timesArithmeticRange as number[]).map(fx).join('–')})` : ''}`,
      fx(r.cpuTimesArithmetic as number),
      fx(r.productsAlone as number | undefined),
      fx(r.factorAlone as number | undefined),
    ]),
  );
  const where = floors.flatMap(({ N, form, batch, floor }) =>
    typeof floor === 'string'
      ? []
      : [
          ...floor.steps.map(st => [`${N} (${form}, ${batch})`, st.step, f(1e6 * st.seconds, 1), f(st.gflops, 1)]),
          [`${N} (${form}, ${batch})`, 'JS between the steps', f(1e6 * floor.between, 1), ''],
          [`${N} (${form}, ${batch})`, 'whole factorization', f(1e6 * floor.factor, 1), ''],
        ],
  );
  if (where.length)
    table(
      `(b2) where one batch's factorization goes on onnxruntime (its fastest round; ONNX Runtime's batched MatMul runs each matrix as its own small GEMM)`,
      ['N (form, batch)', 'product step', 'µs/block', 'GFLOP/s'],
      where,
    );
  results.smallBlocks = { B, damp, samples, rounds, linalgs, openblas: blas, variants: out, floors };
}

// ---------------------------------------------------------------- (c) per-sample gradients
interface Example {
  name: string;
  model: string;
  x: string;
  y?: string;
  evalX?: string;
  evalY?: string;
  samples: number;
  damp: number;
}

function examples(): Example[] {
  const data = (f: string) => path.join(ROOT, 'examples', 'data', f);
  const list: Example[] = [];
  for (const name of ['mlpnet', 'cnn']) {
    list.push({
      name,
      model: path.join(ROOT, 'examples', name, 'model.json'),
      x: data('calib-x.npy'),
      y: data('calib-y.npy'),
      evalX: data('test-x.npy'),
      evalY: data('test-y.npy'),
      samples: SMOKE ? 32 : 1000,
      damp: name === 'cnn' ? 1e-5 : 1e-7,
    });
  }
  return list;
}

async function sectionC(): Promise<void> {
  let perSampleGradients: typeof import('../src/engine/gradients/perSample').perSampleGradients;
  try {
    ({ perSampleGradients } = await import('../src/engine/gradients/perSample'));
  } catch (e) {
    skipped('gradients', `src/engine/gradients/perSample is not loadable (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  const { loadModel } = await import('../src/engine/model/load');
  const { loadDataset } = await import('../src/engine/data/calibration');
  await initBackend('wasm');
  const rows: (string | number)[][] = [];
  const out: Record<string, unknown> = {};
  for (const ex of examples()) {
    if (!fs.existsSync(ex.model)) {
      rows.push([ex.name, 'skipped: no model', '', '', '']);
      out[ex.name] = { skipped: `${ex.model} not found` };
      continue;
    }
    const m = await loadModel(ex.model);
    try {
      const data = await loadDataset(m, ex.x, ex.y, { samples: ex.samples, shuffle: false, seed: 0 });
      const layers = m.prunable;
      const d = layers.reduce((a, l) => a + l.size, 0);
      const per = data.x.length / data.count;
      const one = (i: number) => ({
        ...data,
        x: data.x.subarray(i * per, (i + 1) * per),
        shape: [1, ...data.shape.slice(1)],
        labels: data.labels?.subarray(i, i + 1),
        count: 1,
      });
      await perSampleGradients(m, layers, one(0), { seed: 0 }); // warm-up: kernels, wasm memory
      let t = now();
      const g = await perSampleGradients(m, layers, data, { seed: 0 });
      const batched = data.count / (now() - t);
      let singles = 0;
      t = now();
      while (singles < data.count && (singles < 3 || now() - t < BUDGET / 2)) {
        await perSampleGradients(m, layers, one(singles), { seed: 0 });
        singles++;
      }
      const single = singles / (now() - t);
      void g;
      out[ex.name] = {
        weights: d,
        samples: data.count,
        batchedPerSecond: batched,
        singlePerSecond: single,
        singlesMeasured: singles,
        ratio: batched / single,
      };
      rows.push([ex.name, d, data.count, f(batched, 0), f(single, 0), fx(batched / single)]);
    } finally {
      m.model.dispose();
    }
  }
  table(
    '(c) per-sample gradients (wasm): batched vs one sample per call of the same function (samples/s)',
    ['model', 'weights', 'N', 'batched', 'one at a time', '× one at a time'],
    rows,
  );
  results.gradients = out;
}

// ---------------------------------------------------------------- (d) end to end
interface ChildSpec {
  name: string;
  options: Record<string, unknown>;
  gemm?: 'onnxruntime-f64';
  gradual?: boolean; // runGradual (options are GradualOptions) instead of runPrune
  stream?: boolean; // a limit just under the in-memory plan, planned in the child (the plan counts its own runtime)
}
interface ChildResult {
  seconds: Record<string, number>;
  planBytes: number;
  gradients?: string;
  groups?: string[][];
  stagePeaks?: { stage: string; maxRSS: number; rss: number }[];
  limitBytes?: number;
  strategy?: string;
  planItems?: { what: string; bytes: number }[];
  maxRSS: number;
  baseRSS: number;
  backend: string;
  achieved: number;
  before?: number;
  after?: number;
  forms: string[];
  wall?: number;
}

/** Saves a ~1M-weight MLP (784-1024-256-10) and random calibration data in layers-model format to a temp dir. */
async function syntheticModel(dir: string, hidden: number[], n: number): Promise<{ model: string; x: string; y: string; weights: number }> {
  await initBackend('wasm');
  const model = tf.sequential();
  hidden.forEach((u, i) => model.add(tf.layers.dense({ units: u, activation: 'relu', ...(i === 0 ? { inputShape: [784] } : {}) })));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async art => {
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(art.weightData as ArrayBuffer));
      fs.writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          generatedBy: 'woodfisher bench',
          convertedBy: null,
          modelTopology: art.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const weights = [784, ...hidden, 10].slice(1).reduce((a, u, i) => a + u * [784, ...hidden][i], 0);
  model.dispose();
  const rand = mulberry32(3);
  fs.writeFileSync(path.join(dir, 'x.npy'), formatNpy(Float32Array.from({ length: n * 784 }, rand), [n, 784]));
  fs.writeFileSync(
    path.join(dir, 'y.npy'),
    formatNpy(
      Int32Array.from({ length: n }, () => Math.floor(rand() * 10)),
      [n],
    ),
  );
  return { model: path.join(dir, 'model.json'), x: path.join(dir, 'x.npy'), y: path.join(dir, 'y.npy'), weights };
}

function runChild(spec: ChildSpec, minutes = 20): ChildResult | { error: string } {
  const t = now();
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--child', JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: minutes * 60 * 1000,
  });
  const line = r.stdout?.split('\n').find(l => l.startsWith('BENCH-CHILD '));
  if (!line)
    return { error: `child exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}` };
  return { ...(JSON.parse(line.slice('BENCH-CHILD '.length)) as ChildResult), wall: now() - t };
}

async function child(spec: ChildSpec): Promise<void> {
  await initBackend('wasm');
  const { runPrune } = await import('../src/engine/prune');
  useFastestGemm(spec.gemm === 'onnxruntime-f64' ? 'auto' : 'js'); // runPrune keeps the provider installed here
  if (spec.stream) {
    // just under the in-memory plan with rebuilt blocks (the smallest in-memory plan): only streaming fits
    const { inspectModel } = await import('../src/engine/prune');
    const o = spec.options as unknown as PruneOptions;
    const planned = async (maxMemoryBytes: number) => (await inspectModel(o.modelPath, { ...o, maxMemoryBytes })).memory.totalBytes;
    o.maxMemoryBytes = (await planned((await planned(2 ** 50)) - 1)) - 1;
  }
  const baseRSS = process.resourceUsage().maxRSS * 1024;
  const forms: string[] = [];
  // the peak so far (maxRSS) when each stage ends: the stage where it last rose holds the run's peak
  const stagePeaks: { stage: string; maxRSS: number; rss: number }[] = [];
  let stage = 'start';
  const mark = (next: string) => {
    stagePeaks.push({ stage, maxRSS: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage.rss() });
    stage = next;
  };
  const onEvent = (e: GradualEvent) => {
    if (e.type === 'layer' && e.result.form && !forms.includes(e.result.form)) forms.push(e.result.form);
    if (e.type === 'stage' && e.stage !== stage) mark(e.stage);
  };
  const report = spec.gradual
    ? await (await import('../src/engine/gradual/run')).runGradual(spec.options as unknown as GradualOptions, { onEvent })
    : await runPrune(spec.options as unknown as Parameters<typeof runPrune>[0], { onEvent });
  mark('end');
  const res: ChildResult = {
    seconds: report.seconds as Record<string, number>,
    planBytes: report.memory.totalBytes,
    maxRSS: process.resourceUsage().maxRSS * 1024,
    limitBytes: report.memory.limitBytes,
    strategy: report.memory.strategy,
    planItems: report.memory.items,
    gradients: report.memory.gradients,
    groups: report.memory.groups,
    baseRSS,
    backend: report.backend,
    achieved: report.sparsity.achieved,
    before: report.before?.accuracy,
    after: report.after?.accuracy,
    forms,
    stagePeaks,
  };
  console.log('BENCH-CHILD ' + JSON.stringify(res));
}

async function sectionD(): Promise<void> {
  try {
    await import('../src/engine/prune');
  } catch (e) {
    skipped('endToEnd', `src/engine/prune is not loadable (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'woodfisher-bench-'));
  try {
    const specs: ChildSpec[] = [];
    const base = {
      sparsity: 0.9,
      method: 'woodfisher',
      blockSize: 1000,
      scope: 'global',
      update: 'independent',
      recompute: 1,
      recomputeSchedule: 'linear',
      inverseForm: 'auto',
      layers: {},
      backend: 'wasm',
      shuffle: false,
      seed: 0,
    };
    for (const ex of examples()) {
      if (!fs.existsSync(ex.model)) {
        console.log(`\n(d) ${ex.name}: skipped: ${ex.model} not found`);
        continue;
      }
      specs.push({
        name: `${ex.name}, js gemm`,
        options: {
          ...base,
          modelPath: ex.model,
          dataPath: ex.x,
          labelsPath: ex.y,
          evalPath: ex.evalX,
          evalLabelsPath: ex.evalY,
          samples: ex.samples,
          damp: ex.damp,
          outDir: path.join(tmp, `out-${ex.name}`),
        },
      });
      if (!onnxRuntimeUnavailable()) {
        // the same run as the engine does it by default: the float64 onnxruntime provider behind gemm.ts
        const last = specs[specs.length - 1];
        specs.push({
          name: `${ex.name}, onnxruntime-f64 gemm`,
          gemm: 'onnxruntime-f64',
          options: { ...last.options, outDir: path.join(tmp, `out-${ex.name}-ort`) },
        });
      }
    }
    const hidden = SMOKE ? [64] : [1024, 256];
    const n = SMOKE ? 16 : 128;
    const syn = await syntheticModel(path.join(tmp, 'mlp1m'), hidden, n);
    const synGemm = onnxRuntimeUnavailable() ? undefined : ('onnxruntime-f64' as const);
    specs.push({
      name: `synthetic MLP 784-${hidden.join('-')}-10, ${synGemm ?? 'js'} gemm`,
      gemm: synGemm,
      options: {
        ...base,
        modelPath: syn.model,
        dataPath: syn.x,
        labelsPath: syn.y,
        samples: n,
        damp: 1e-5,
        outDir: path.join(tmp, 'out-mlp1m'),
      },
    });
    const rows: (string | number)[][] = [];
    const out: Record<string, unknown> = {};
    for (const s of specs) {
      const r = runChild(s);
      out[s.name] = { samples: s.options.samples, ...r };
      if ('error' in r) {
        rows.push([s.name, `error: ${r.error}`, '', '', '', '', '', '', '', '']);
        continue;
      }
      const sec = r.seconds;
      rows.push([
        s.name,
        s.options.samples as number,
        r.forms.join('+'),
        f(sec.total),
        f(sec.gradients),
        f(sec.blocks),
        f(sec.update),
        f(r.wall),
        `${mib(r.maxRSS)} / ${mib(r.planBytes)}`,
        f(r.maxRSS / r.planBytes),
        mib(r.planItems?.find(i => i.what.startsWith('the runtime before the run'))?.bytes ?? NaN),
        r.before !== undefined ? `${(100 * r.before).toFixed(1)} → ${(100 * (r.after ?? NaN)).toFixed(1)}` : '',
      ]);
    }
    table(
      '(d) end to end, runPrune on wasm at 90% global sparsity, each in its own process (seconds; peak RSS vs the memory plan)',
      [
        'model',
        'N',
        'forms',
        'total s',
        'gradients',
        'blocks',
        'update',
        'process s',
        'peak RSS / plan',
        'RSS÷plan',
        'runtime in plan',
        'accuracy %',
      ],
      rows,
    );
    console.log(
      "    runtime in plan = the resident set the run measured at its start (V8, TF.js, wasm, onnxruntime), the plan's first item",
    );
    results.endToEnd = out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- (r) memory plan vs peak RSS on MobileNetV2
/** MobileNetV2-224 (test/fixtures/mobilenetv2.ts) pruned end to end at N = 32 … 512 with the default memory limit,
 *  each run in its own process: its whole-process peak RSS (maxRSS) against the plan the run made. */
async function sectionR(): Promise<void> {
  const { buildMobileNetV2, saveModelFolder, writeCalibration } = await import('../test/fixtures/mobilenetv2');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'woodfisher-bench-rss-'));
  // N, or N@limit (e.g. 512@4GB: a limit the N × d gradients do not fit under, so they are streamed)
  // N, N@limit (e.g. 512@5GB), or N@stream: a limit just under the in-memory plan, so the gradients are streamed
  const runs = (opt('rss-samples') ?? (SMOKE ? '8,16,16@stream' : '32,128,256,512,512@5GB')).split(',').map(s => {
    const [n, limit] = s.split('@');
    return { n: Number(n), limit: limit === 'stream' ? ('stream' as const) : limit ? parseBytes(limit) : undefined };
  });
  const list = runs.map(r => r.n);
  const size = Number(opt('rss-input') ?? (SMOKE ? 32 : 224));
  const structure = opt('rss-structure') === 'neurons' ? ('neurons' as const) : undefined;
  const peaks: string[] = [];
  try {
    await initBackend('wasm');
    const built = buildMobileNetV2(
      SMOKE ? { inputSize: size, alpha: 0.35, classes: 10, stages: 3, lastChannels: 64 } : { inputSize: size },
    );
    const model = await saveModelFolder(built, path.join(tmp, 'model'));
    built.dispose();
    const data = writeCalibration(path.join(tmp, 'data'), Math.max(...list), size, SMOKE ? 10 : 1000);
    const rows: (string | number)[][] = [];
    const out: Record<string, unknown> = { inputSize: size };
    // a row of the table and the run's peak per stage, printed as it comes (a run takes minutes)
    const record = (key: string, label: string | number, r: ChildResult & { wall?: number }, given: string) => {
      rows.push([
        label,
        r.gradients === 'streamed' ? `streamed, ${r.groups?.length} groups` : (r.gradients ?? ''),
        r.strategy ?? '',
        formatBytes(r.planBytes),
        formatBytes(r.maxRSS),
        f(r.maxRSS / r.planBytes),
        `${formatBytes(r.limitBytes ?? NaN)}${given}`,
        f(r.wall),
      ]);
      peaks.push(
        `    ${key}, peak so far at the end of each stage: ` +
          (r.stagePeaks ?? [])
            .slice(1)
            .map(p => `${p.stage} ${formatBytes(p.maxRSS)}`)
            .join(', '),
      );
      console.log(`(r) ${key}: ${rows[rows.length - 1].join(' | ')}`);
    };
    for (const { n, limit } of runs) {
      const maxMemory = limit === 'stream' ? undefined : limit;
      const spec: ChildSpec = {
        name: `mobilenetv2 N=${n}`,
        gemm: onnxRuntimeUnavailable() ? undefined : 'onnxruntime-f64',
        stream: limit === 'stream',
        options: {
          modelPath: model,
          dataPath: data.x,
          labelsPath: data.y,
          outDir: path.join(tmp, `out-${n}`),
          ...DEFAULT_OPTIONS,
          sparsity: structure ? 0.3 : 0.7,
          samples: n,
          backend: 'wasm',
          ...(structure ? { structure } : {}),
          ...(maxMemory ? { maxMemoryBytes: maxMemory } : {}),
        },
      };
      const r = runChild(spec, 120);
      const key = `N=${n}${maxMemory ? `, limit ${formatBytes(maxMemory)}` : limit === 'stream' ? ', limit just under the in-memory plan' : ''}`;
      out[key] = r;
      if ('error' in r) {
        rows.push([n, `error: ${r.error}`, '', '', '', '', '', '']);
        continue;
      }
      record(key, n, r, maxMemory || limit === 'stream' ? ' (given)' : '');
    }
    // gradual: the same architecture at 32×32 (training is the plan's largest TF.js item there), one epoch on random
    // images, its four pruning steps on N = 256 calibration samples; --rss-gradual lists training-set sizes
    const gradualRuns = (opt('rss-gradual') ?? (SMOKE ? '' : '256')).split(',').filter(Boolean).map(Number);
    if (gradualRuns.length) {
      const small = buildMobileNetV2(SMOKE ? { inputSize: 32, alpha: 0.35, classes: 10, stages: 3, lastChannels: 64 } : { inputSize: 32 });
      const model32 = await saveModelFolder(small, path.join(tmp, 'model-32'));
      small.dispose();
      for (const n of gradualRuns) {
        const train = writeCalibration(path.join(tmp, `train-32-${n}`), n, 32, SMOKE ? 10 : 1000);
        const r = runChild(
          {
            name: `mobilenetv2-32 gradual, ${n} training samples`,
            gemm: onnxRuntimeUnavailable() ? undefined : 'onnxruntime-f64',
            gradual: true,
            options: {
              ...DEFAULT_OPTIONS,
              ...DEFAULT_GRADUAL,
              modelPath: model32,
              dataPath: train.x,
              labelsPath: train.y,
              outDir: path.join(tmp, `out-gradual-${n}`),
              sparsity: 0.7,
              epochs: 1,
              backend: 'wasm',
            },
          },
          120,
        );
        const key = `gradual 32×32, ${n} training samples`;
        out[key] = r;
        if ('error' in r) {
          rows.push([`${n} (gradual 32×32)`, `error: ${r.error}`, '', '', '', '', '', '']);
          continue;
        }
        record(key, `${Math.min(n, DEFAULT_OPTIONS.samples)} (gradual 32×32, ${n} to train)`, r, '');
      }
    }
    for (const r of Object.values(out)) {
      const items = (r as ChildResult).planItems;
      const runtime = items?.find(i => i.what.startsWith('the runtime before the run'));
      if (runtime) peaks.push(`    runtime counted by the plan (resident before the run): ${formatBytes(runtime.bytes)}`);
      if (runtime) break;
    }
    table(
      `(r) memory plan vs whole-process peak RSS, MobileNetV2-${size} (${SMOKE ? 'small' : '3.5M weights'}), ${structure ? '30% of units, per layer' : '70% global'}, blocks of 1000, default limit unless given, each run in its own process`,
      ['N', 'gradients', 'inverses', 'plan', 'peak RSS', 'RSS ÷ plan', 'limit', 'process s'],
      rows,
    );
    for (const line of peaks) console.log(line);
    results.memoryPlan = out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  const childSpec = opt('child');
  if (childSpec) {
    await child(JSON.parse(childSpec) as ChildSpec);
    return;
  }
  await initBackend('wasm');
  console.log(
    `woodfisher bench (${SMOKE ? 'smoke' : 'full'}), ${os.cpus().length} × ${os.cpus()[0]?.model}, load ${os
      .loadavg()
      .map(x => x.toFixed(1))
      .join(' ')}, node ${process.version}` + (onnxRuntimeUnavailable() ? `; ${onnxRuntimeUnavailable()}` : ''),
  );
  const t = now();
  if (ONLY.has('a') || ONLY.has('b')) await sectionA();
  if (ONLY.has('b')) await sectionB();
  if (ONLY.has('b') || ONLY.has('b2')) await sectionSmallBlocks();
  if (ONLY.has('c')) await sectionC();
  if (ONLY.has('d')) await sectionD();
  if (ONLY.has('p')) await sectionP({ root: ROOT, smoke: SMOKE, table, results, budget: BUDGET });
  if (ONLY.has('s')) await sectionS({ root: ROOT, smoke: SMOKE, table, results });
  if (ONLY.has('m')) await sectionM({ root: ROOT, smoke: SMOKE, table, results, budget: BUDGET });
  if (ONLY.has('r')) await sectionR();
  if (ONLY.has('g')) await sectionG({ root: ROOT, smoke: SMOKE, table, results });
  results.seconds = now() - t;
  const dir = path.join(ROOT, 'bench-results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${SMOKE ? 'smoke-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), file)} (${(now() - t).toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  e => {
    console.error(e);
    process.exit(1);
  },
);
