// The floor under (b2)'s ratio: a batch of Fisher blocks' factorization alone — linalg/factors.ts's generator (the
// dual's K = GGᵀ, Cholesky inverse and H = L⁻¹G; the primal's gram and Cholesky inverse), its products run as
// onnxruntime-node sessions of the helper thread's graphs on ready float64 operands, awaited here: what a run does,
// without the jobs, copies, thread crossings and saliency around it. Also its counted products alone. If these come
// near 3× their arithmetic, no batching around them brings the whole within it.
import { tryRequire } from '../src/engine/linalg/accel/nodeRequire';
import { onnxModel, ONNX_DOUBLE } from '../src/engine/linalg/accel/onnxModel';
import { GRAPHS, type Kind } from '../src/engine/linalg/accel/ortThread';
import type { ProductStep } from '../src/engine/linalg/cholesky';
import { FACTORS } from '../src/engine/linalg/factors';
import { chooseForm } from '../src/engine/fisher/inverse';

interface OrtTensor {
  data: Float64Array;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor>): Promise<unknown>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
  Tensor: new (type: 'float64', data: Float64Array, dims: number[]) => OrtTensor;
}

/** One kind of product step of the best round: seconds per block, and its rate. */
export interface FloorStep {
  step: string; // op and m×k×n
  seconds: number;
  gflops: number;
}

/** Seconds per block, best of `rounds`: the whole factorization, its counted products alone (dual K and H; primal
 *  the gram's three blocks), each kind of product step, and the JS between the steps (the recursion's own work). */
export async function floorSeconds(
  n: number,
  b: number,
  count: number,
  damp: number,
  rounds = 5,
): Promise<{ factor: number; products: number; steps: FloorStep[]; between: number } | string> {
  const loaded = tryRequire<Ort>('onnxruntime-node');
  if (!loaded.mod) return `onnxruntime-node not loadable: ${loaded.error}`;
  const ort = loaded.mod;
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
  const sessions = new Map<Kind, Promise<OrtSession>>();
  const session = (kind: Kind) => {
    if (!sessions.has(kind)) {
      const g = GRAPHS[kind];
      const model = onnxModel(
        g.nodes,
        g.inputs.map(([name, dims]) => ({ name, elemType: ONNX_DOUBLE, dims })),
        [{ name: 'C', elemType: ONNX_DOUBLE, dims: g.out }],
      );
      sessions.set(kind, ort.InferenceSession.create(model, options));
    }
    return sessions.get(kind)!;
  };
  const t = (A: Float64Array, dims: number[]) =>
    new ort.Tensor(
      'float64',
      A.subarray(
        0,
        dims.reduce((x, y) => x * y, 1),
      ),
      dims,
    );
  let productSeconds = 0,
    round = new Map<string, { ms: number; flop: number }>();
  const dual = chooseForm(n, b) === 'dual';
  // the counted products (not the Cholesky's inner ones): dual K = GGᵀ, H = L⁻¹G; primal the gram's blocks (k = N rows)
  const counted = (p: ProductStep) =>
    dual
      ? (p.op === 'gramRows' && p.m === n && p.k === b) || (p.op === 'matmul' && p.m === n && p.k === n && p.n === b)
      : (p.op === 'gramCols' || p.op === 'matmulTN') && p.k === n;
  const step = async (p: ProductStep): Promise<Float64Array> => {
    const [rows, cols] = p.op === 'gramCols' || p.op === 'gramRows' ? [p.m, p.m] : [p.m, p.n];
    const c = p.count,
      C = new Float64Array(c * rows * cols);
    const feeds: Record<string, OrtTensor> =
      p.op === 'gramCols'
        ? { A: t(p.A as Float64Array, [c, p.k, p.m]) }
        : p.op === 'gramRows'
          ? { A: t(p.A as Float64Array, [c, p.m, p.k]) }
          : p.op === 'matmul'
            ? { A: t(p.A as Float64Array, [c, p.m, p.k]), B: t(p.B as Float64Array, [c, p.k, p.n]) }
            : { A: t(p.A as Float64Array, [c, p.k, p.m]), B: t(p.B as Float64Array, [c, p.k, p.n]) };
    const s = await session(`${p.op}Batch`);
    const t0 = performance.now();
    await s.run(feeds, { C: new ort.Tensor('float64', C, [c, rows, cols]) });
    const ms = performance.now() - t0;
    if (counted(p)) productSeconds += ms;
    const key = `${p.op} ${p.m}×${p.k}×${p.op === 'gramCols' || p.op === 'gramRows' ? p.m : p.n}`;
    const e = round.get(key) ?? { ms: 0, flop: 0 };
    e.ms += ms;
    e.flop += 2 * c * rows * cols * p.k;
    round.set(key, e);
    return C;
  };
  const name = dual ? 'rowGramFactor' : 'gramFactor';
  const G = Float64Array.from({ length: count * n * b }, () => Math.random() - 0.5);
  let factor = Infinity,
    products = Infinity,
    best = round;
  for (let r = 0; r < rounds + 1; r++) {
    productSeconds = 0;
    round = new Map();
    const t0 = performance.now();
    const steps = FACTORS[name](G, n, b, damp, count, 'Fisher block');
    for (let x = steps.next(); !x.done; x = steps.next(await step(x.value)));
    if (r === 0) continue; // sessions created, warm
    const ms = performance.now() - t0;
    if (ms < factor) [factor, best] = [ms, round];
    products = Math.min(products, productSeconds);
  }
  for (const s of sessions.values()) await (await s).release();
  const perBlock = (ms: number) => ms / 1000 / count;
  const stepList = [...best].map(([step, e]) => ({ step, seconds: perBlock(e.ms), gflops: e.flop / (e.ms / 1000) / 1e9 }));
  const inSteps = [...best.values()].reduce((t, e) => t + e.ms, 0);
  return {
    factor: perBlock(factor),
    products: perBlock(products),
    steps: stepList.sort((x, y) => y.seconds - x.seconds),
    between: perBlock(factor - inSteps),
  };
}
