// One-shot pruning (optionally split into K recomputation sub-steps): the pipeline every front door calls.
//   load → gradients → Fisher-inverse blocks → saliency → selection → OBS update → evaluate → save
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from './backend';
import { nativeGemmMissing, nativeGemmNotice, useFastestGemm } from './linalg/fastest';
import { loadModel, readKernel, writeKernel, saveModel, LoadedModel } from './model/load';
import { loadDataset, Dataset } from './data/calibration';
import { perSampleGradients, GradientSet } from './gradients/perSample';
import { evaluate, predictLabels } from './gradients/evaluate';
import { blockPool, inlineRunner, forEachBounded, type BlockRunner } from './fisher/blockPool';
import { blockRanges, gatherBlock, diagFisher } from './fisher/blocks';
import { diagFisherSaliency, magnitudeSaliency } from './obs/saliency';
import { selectMasks, selectNM, parsePattern } from './obs/select';
import { obsUpdate } from './obs/update';
import { planMemory, assertPlanFits, needsGradients, needsInverse } from './memory';
import { layerResult } from './layerStats';
import {
  EvalResult, LayerResult, MemoryPlan, PrunableLayer, PruneEvent, PruneOptions, PruneReport, RunHooks, Stage, UpdateKind,
  WoodFisherError, DEFAULT_OPTIONS,
} from './types';

/** Target sparsity after sub-step k of K: linear s·k/K, or the cubic schedule s − s(1 − k/K)³ (Zhu & Gupta). */
export function stepSparsity(s: number, k: number, K: number, schedule: PruneOptions['recomputeSchedule']): number {
  return schedule === 'polynomial' ? s - s * (1 - k / K) ** 3 : (s * k) / K;
}

export function validateOptions(o: PruneOptions): void {
  const bad = (msg: string) => new WoodFisherError(msg, 'OPTIONS');
  if (!(o.sparsity >= 0 && o.sparsity < 1)) throw bad(`sparsity must be in [0, 1), got ${o.sparsity}`);
  if (!Number.isInteger(o.samples) || o.samples < 1) throw bad(`samples must be a positive integer, got ${o.samples}`);
  if (!Number.isInteger(o.blockSize) || o.blockSize < 1) throw bad(`block size must be a positive integer, got ${o.blockSize}`);
  if (o.damp !== 'auto' && (!(o.damp > 0) || !Number.isFinite(o.damp))) throw bad(`damp (λ) must be a positive number or 'auto', got ${o.damp}`);
  if (!Number.isInteger(o.recompute) || o.recompute < 1) throw bad(`recompute must be a positive integer, got ${o.recompute}`);
  if (o.pattern) {
    const { n, m } = parsePattern(o.pattern);
    if (o.recompute > 1) throw bad(`an N:M pattern is reached in one step; drop recompute (${o.recompute})`);
    if (Math.abs(o.sparsity - (m - n) / m) > 1e-9) throw bad(`pattern ${o.pattern} means sparsity ${(m - n) / m}, but sparsity ${o.sparsity} was asked; give one of them`);
  }
  for (const [name, ov] of Object.entries(o.layers ?? {})) {
    if (ov.sparsity !== undefined && !(ov.sparsity >= 0 && ov.sparsity < 1)) {
      throw bad(`layer ${name}: sparsity must be in [0, 1), got ${ov.sparsity}`);
    }
  }
  const modelDir = path.resolve(path.dirname(o.modelPath));
  const out = path.resolve(o.outDir);
  if (out === modelDir || modelDir.startsWith(out + path.sep)) {
    throw new WoodFisherError(`the output folder ${o.outDir} would contain the input model; choose a new folder`, 'OUTPUT');
  }
}


function checkAbort(signal?: AbortSignal) {
  if (signal?.aborted) throw new WoodFisherError('pruning was cancelled', 'CANCELLED');
}

export interface InspectResult { layers: PrunableLayer[]; memory: MemoryPlan; totalWeights: number; format: string; backend: string }

/** Layers, prunable weights and the memory plan for the given settings, without data. */
export async function inspectModel(modelPath: string, options: Partial<PruneOptions> = {}): Promise<InspectResult> {
  const o = { ...DEFAULT_OPTIONS, ...options };
  const backend = await initBackend(o.backend);
  const m = await loadModel(modelPath);
  const memory = planMemory({
    layers: m.prunable, samples: o.samples, blockSize: o.blockSize, method: o.method, inverseForm: o.inverseForm,
    limitBytes: o.maxMemoryBytes,
    threads: blockThreads(o.threads, m.prunable.reduce((a, l) => a + blockRanges(l.size, o.blockSize).length, 0)),
  });
  m.model.dispose();
  return { layers: m.prunable, memory, totalWeights: m.prunable.reduce((a, l) => a + l.size, 0), format: m.json.format, backend };
}

/** Runs the whole one-shot pruning and writes the pruned model and report.json to options.outDir. */
export async function runPrune(options: PruneOptions, hooks: RunHooks = {}): Promise<PruneReport> {
  const o: PruneOptions = { ...DEFAULT_OPTIONS, ...options, layers: options.layers ?? {} };
  const { signal } = hooks;
  const emit = hooks.onEvent ?? (() => {});
  const seconds: Partial<Record<Stage, number>> = {};
  const t0 = performance.now();
  const timed = async <T>(stage: Stage, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try { return await f(); } finally { seconds[stage] = (seconds[stage] ?? 0) + (performance.now() - t) / 1000; }
  };
  validateOptions(o);

  // load
  emit({ type: 'stage', stage: 'load', done: 0, total: 1 });
  const backend = await initBackend(o.backend);
  const linalg = useFastestGemm();
  const { m, data, evalData } = await timed('load', async () => {
    const m = await loadModel(o.modelPath);
    checkOverrides(o, m.prunable);
    const data = needsGradients(o.method) ? await loadDataset(m, o.dataPath, o.labelsPath, { samples: o.samples, shuffle: o.shuffle, seed: o.seed }) : undefined;
    const evalData = o.evalPath ? await loadDataset(m, o.evalPath, o.evalLabelsPath) : undefined;
    if (evalData && !evalData.labels) throw new WoodFisherError(`evaluation data ${o.evalPath} has no labels; pass --eval-labels`, 'LABELS');
    return { m, data, evalData };
  });
  try {
    const n = data?.count ?? 0;
    const layers = m.prunable.filter(l => !o.layers[l.name]?.exclude);
    const totalBlocks = layers.reduce((a, l) => a + blockRanges(l.size, o.blockSize).length, 0);
    const memory = planMemory({ layers, samples: n, blockSize: o.blockSize, method: o.method, inverseForm: o.inverseForm,
      limitBytes: o.maxMemoryBytes, threads: blockThreads(o.threads, totalBlocks) });
    emit({ type: 'plan', layers: m.prunable, memory, backend });
    assertPlanFits(memory);
    emit({ type: 'stage', stage: 'load', done: 1, total: 1 });
    const linalgMissing = needsGradients(o.method) ? nativeGemmMissing() : undefined;
    if (linalgMissing) warnOnce(nativeGemmNotice(linalgMissing), emit);
    if (n > 0 && n < o.samples) emit({ type: 'log', level: 'warn', message: `calibration data has ${n} samples; using all of them (asked for ${o.samples})` });

    const before = evalData ? await timed('evaluate', () => runEval(m, evalData, 'before', hooks)) : undefined;

    // The "true" Fisher: gradients at labels drawn from the model's own softmax (labels, if given, still judge λ).
    const gradData = data && o.sampleLabels ? { ...data, labels: undefined } : data;
    let labelsSource: 'given' | 'sampled' = gradData?.labels ? 'given' : 'sampled';
    let damp = o.damp === 'auto' ? NaN : o.damp;
    let search: { damp: number; grads: GradientSet; table: NonNullable<PruneReport['dampSearch']> } | undefined;
    if (o.damp === 'auto' && data && needsGradients(o.method)) {
      search = await chooseDamp(m, layers, gradData!, data, o, memory.strategy, hooks, timed);
      damp = search.damp;
    } else if (o.damp === 'auto') damp = 1e-5; // magnitude methods: λ plays no part
    let results: LayerResult[] = [];
    for (let k = 1; k <= o.recompute; k++) {
      const step = await pruneStep(m, layers, gradData, o, k, memory.strategy, hooks, timed, damp, k === 1 ? search?.grads : undefined);
      results = step.results;
      if (step.labelsSource) labelsSource = step.labelsSource;
    }
    // Excluded layers appear in the report, untouched.
    for (const l of m.prunable.filter(l => o.layers[l.name]?.exclude)) {
      const r = layerResult(l, readKernel(m, l), new Float64Array(l.size), NaN, { excluded: true, blocks: 0, form: 'none' });
      results.push(r);
      emit({ type: 'layer', result: r, step: o.recompute });
    }
    results.sort((a, b) => m.prunable.findIndex(l => l.name === a.name) - m.prunable.findIndex(l => l.name === b.name));

    const after = evalData ? await timed('evaluate', () => runEval(m, evalData, 'after', hooks)) : undefined;

    const weights = results.reduce((a, r) => a + r.weights, 0);
    const pruned = results.reduce((a, r) => a + r.pruned, 0);
    const { outDir, modelPath, maxMemoryBytes, ...settings } = o;
    const report: PruneReport = {
      version: 1, model: path.resolve(modelPath), output: path.resolve(outDir),
      settings: { ...settings, maxMemoryBytes, labels: labelsSource },
      backend, linalg, host: hostSummary(), ...(linalgMissing ? { linalgNote: nativeGemmNotice(linalgMissing) } : {}), sparsity: { target: o.sparsity, achieved: weights ? pruned / weights : 0, pruned, weights },
      layers: results, before, after, seconds: { ...seconds, total: 0 }, memory, steps: o.recompute,
      damp, dampSearch: search?.table,
    };
    emit({ type: 'stage', stage: 'save', done: 0, total: 1 });
    checkAbort(signal);
    const savedModel = await timed('save', async () => {
      report.seconds = { ...seconds, total: (performance.now() - t0) / 1000 };
      return saveModel(m, outDir, { 'report.json': JSON.stringify(report, null, 2) + '\n' });
    });
    report.seconds = { ...seconds, total: (performance.now() - t0) / 1000 };
    emit({ type: 'stage', stage: 'save', done: 1, total: 1 });
    const reportPath = path.join(path.dirname(savedModel), 'report.json');
    emit({ type: 'done', report, reportPath, modelPath: savedModel });
    return report;
  } finally {
    m.model.dispose();
  }
}

function checkOverrides(o: PruneOptions, prunable: PrunableLayer[]) {
  const names = new Set(prunable.map(l => l.name));
  for (const name of Object.keys(o.layers)) {
    if (!names.has(name)) {
      throw new WoodFisherError(`layer "${name}" named in the layer overrides is not a prunable layer of the model (prunable: ${[...names].join(', ')})`, 'OPTIONS');
    }
  }
}

async function runEval(m: LoadedModel, d: Dataset, which: 'before' | 'after', hooks: RunHooks): Promise<EvalResult> {
  hooks.onEvent?.({ type: 'stage', stage: 'evaluate', done: 0, total: 1, message: which });
  const result = await evaluate(m, d, { signal: hooks.signal });
  hooks.onEvent?.({ type: 'eval', which, result });
  hooks.onEvent?.({ type: 'stage', stage: 'evaluate', done: 1, total: 1, message: which });
  return result;
}

type Timed = <T>(stage: Stage, f: () => Promise<T> | T) => Promise<T>;

interface LayerWork {
  layer: PrunableLayer;
  w: Float64Array;                       // current kernel, PyTorch order
  saliency: Float64Array;
  invGrad?: Float64Array;                // WoodTaylor: F⁻¹∇L over the whole layer (block by block)
  form: LayerResult['form'];
}

/** One sub-step k of K: re-estimate gradients and inverses at the current weights, prune to s_k, update. */
async function pruneStep(
  m: LoadedModel, layers: PrunableLayer[], data: Dataset | undefined, o: PruneOptions, k: number,
  strategy: 'keep' | 'rebuild', hooks: RunHooks, timed: Timed, damp: number, given?: GradientSet,
): Promise<{ results: LayerResult[]; labelsSource?: 'given' | 'sampled' }> {
  const emit = hooks.onEvent ?? (() => {});
  const { signal } = hooks;
  const K = o.recompute;
  const target = stepSparsity(o.sparsity, k, K, o.recomputeSchedule);
  const work: LayerWork[] = layers.map(layer => ({ layer, w: readKernel(m, layer), saliency: new Float64Array(0), form: 'none' }));
  for (const lw of work) {
    if (lw.w.some(v => !Number.isFinite(v))) throw new WoodFisherError(`layer ${lw.layer.name} has NaN or infinite weights`, 'MODEL_NAN');
  }

  // gradients: N × d per layer, pruned weights masked (the reference code multiplies by the mask)
  let grads: Map<string, Float32Array> | undefined;
  let labelsSource: 'given' | 'sampled' | undefined;
  if (given) {
    grads = given.grads;
    labelsSource = given.labelsSource;
  } else if (needsGradients(o.method) && data) {
    const masks = new Map(work.map(lw => [lw.layer.name, Uint8Array.from(lw.w, v => (v === 0 ? 1 : 0))]));
    const g = await timed('gradients', () => perSampleGradients(m, layers, data, {
      seed: o.seed + k, masks, signal,
      onProgress: (done, total) => emit({ type: 'stage', stage: 'gradients', done, total, step: k, steps: K }),
    }));
    grads = g.grads;
    labelsSource = g.labelsSource;
  }
  const n = data?.count ?? 0;

  // blocks and saliency: every Fisher block is an independent job, run on every core (fisher/blockPool.ts)
  const ranges = work.map(lw => blockRanges(lw.layer.size, o.blockSize));
  const blocks = work.flatMap((lw, li) => ranges[li].map(r => ({ lw, li, r })));
  const runner = needsInverse(o.method) ? blockRunner(o.threads, blocks.length) : undefined;
  const results: LayerResult[] = [];
  try {
    await timed('blocks', async () => {
      for (const lw of work) {
        const { layer, w } = lw;
        const G = grads?.get(layer.name);
        if (o.method === 'magnitude' || o.method === 'global-magnitude') {
          lw.saliency = magnitudeSaliency(w);
        } else if (o.method === 'diagfisher') {
          lw.saliency = diagFisherSaliency(w, diagFisher(G!, n, layer.size, damp));
          lw.form = 'diagonal';
        } else {
          lw.saliency = new Float64Array(layer.size);
          if (o.method === 'woodtaylor') lw.invGrad = new Float64Array(layer.size);
        }
      }
      if (!runner) return;
      const done = work.map(() => 0), forms = work.map(() => new Map<string, number>());
      await forEachBounded(blocks.entries(), runner.capacity, async ([id, { lw, li, r }]) => {
        const res = await runner.build({
          op: 'build', id, G: gatherBlock(grads!.get(lw.layer.name)!, n, lw.layer.size, r), n, b: r.end - r.start, damp,
          form: o.inverseForm, w: lw.w.slice(r.start, r.end), taylor: o.method === 'woodtaylor', keep: strategy === 'keep',
        });
        lw.saliency.set(res.saliency, r.start);
        if (res.invGrad) lw.invGrad!.set(res.invGrad, r.start);
        forms[li].set(res.form, (forms[li].get(res.form) ?? 0) + 1);
        emit({ type: 'stage', stage: 'blocks', done: ++done[li], total: ranges[li].length, layer: lw.layer.name, step: k, steps: K });
      }, () => checkAbort(signal));
      work.forEach((lw, li) => { lw.form = [...forms[li]].sort((a, b) => b[1] - a[1]).map(([f]) => f).join('+'); });
    });
    for (const lw of work) {
      if (lw.saliency.some(v => Number.isNaN(v))) {
        throw new WoodFisherError(`saliency of layer ${lw.layer.name} is NaN: the Fisher blocks are ill-conditioned; raise --damp`, 'NUMERIC');
      }
    }
    if (!grads) labelsSource = undefined;
    // The update needs the gradients again only to rebuild blocks that were not kept (the memory plan counts them once).
    const update: UpdateKind = needsInverse(o.method) ? o.update : 'none';
    const rebuildFrom = strategy === 'rebuild' && update !== 'none' ? grads : undefined;
    grads = undefined;

    // selection
    emit({ type: 'stage', stage: 'selection', done: 0, total: 1, step: k, steps: K });
    const scope = o.method === 'magnitude' ? 'layer' : o.method === 'global-magnitude' ? 'global' : o.scope;
    const { masks, thresholds } = await timed('selection', () => {
      if (!o.pattern) {
        return selectMasks(work.map(lw => {
          const ov = o.layers[lw.layer.name];
          return { name: lw.layer.name, saliency: lw.saliency, weights: lw.w, sparsity: ov?.sparsity !== undefined ? stepSparsity(ov.sparsity, k, K, o.recomputeSchedule) : undefined };
        }), target, scope);
      }
      const nm = selectNM(work.map(lw => ({ name: lw.layer.name, saliency: lw.saliency, weights: lw.w, rowLength: lw.layer.size / lw.layer.torchShape[0] })), parsePattern(o.pattern));
      for (const name of nm.skipped) emit({ type: 'log', level: 'warn', message: `layer ${name} stays dense: its rows are not a multiple of the pattern's group (${o.pattern})` });
      return nm;
    });
    emit({ type: 'stage', stage: 'selection', done: 1, total: 1, step: k, steps: K });

    // OBS update, block by block (where each inverse was kept, or rebuilt); pruned weights end exactly 0
    await timed('update', async () => {
      const next = work.map(lw => new Float64Array(lw.layer.size));
      const done = work.map(() => 0);
      await forEachBounded(blocks.entries(), runner?.capacity ?? 1, async ([id, { lw, li, r }]) => {
        const wb = lw.w.slice(r.start, r.end);
        const invGrad = lw.invGrad?.slice(r.start, r.end); // WoodTaylor: the update also subtracts F⁻¹∇L
        const mask = masks[li].slice(r.start, r.end);
        const b = r.end - r.start;
        const rebuild = rebuildFrom && { G: gatherBlock(rebuildFrom.get(lw.layer.name)!, n, lw.layer.size, r), n, b, damp, form: o.inverseForm };
        const res = runner && update !== 'none' ? await runner.update({ op: 'update', id, w: wb, mask, kind: update, invGrad, rebuild })
          : { w: obsUpdate(wb, mask, null, 'none') };
        next[li].set(res.w, r.start);
        emit({ type: 'stage', stage: 'update', done: ++done[li], total: ranges[li].length, layer: lw.layer.name, step: k, steps: K,
          message: rebuildFrom ? 'rebuilding each block inverse (they did not all fit in memory)' : undefined });
      }, () => checkAbort(signal));
      work.forEach((lw, li) => {
        const { layer } = lw;
        for (let i = 0; i < next[li].length; i++) {
          if (masks[li][i]) next[li][i] = 0;
          else if (!Number.isFinite(next[li][i])) throw new WoodFisherError(`the OBS update of layer ${layer.name} produced non-finite weights; raise --damp`, 'NUMERIC');
        }
        writeKernel(m, layer, next[li]);
        const result = layerResult(layer, next[li], lw.saliency, thresholds[li], { blocks: ranges[li].length, form: lw.form });
        results.push(result);
        emit({ type: 'layer', result, step: k });
      });
    });
  } finally {
    await runner?.close();
  }
  return { results, labelsSource };
}

/** Worker threads for the Fisher blocks: all cores by default (up to 8), inline for a single block or thread. */
function blockRunner(threads: number | undefined, blocks: number): BlockRunner {
  const t = blockThreads(threads, blocks);
  return t > 1 ? blockPool(t) : inlineRunner();
}

function blockThreads(threads: number | undefined, blocks: number): number {
  return Math.max(1, Math.min(threads ?? Math.min(8, os.availableParallelism()), blocks));
}

/** damp 'auto': candidate λ relative to the empirical Fisher's mean diagonal tr(F̂)/d (notes: judge λ by the Fisher's scale). */
export const DAMP_SEARCH = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];

/**
 * Chooses λ from the data: prunes to the target once per candidate (one step, gradients computed once) and keeps
 * the λ with the lowest calibration loss — against the given labels, or the dense model's own predictions.
 */
async function chooseDamp(
  m: LoadedModel, layers: PrunableLayer[], data: Dataset, judgeData: Dataset, o: PruneOptions, strategy: 'keep' | 'rebuild', hooks: RunHooks, timed: Timed,
): Promise<{ damp: number; grads: GradientSet; table: NonNullable<PruneReport['dampSearch']> }> {
  const emit = hooks.onEvent ?? (() => {});
  const dense = new Map(layers.map(l => [l.name, readKernel(m, l)]));
  const masks = new Map(layers.map(l => [l.name, Uint8Array.from(dense.get(l.name)!, v => (v === 0 ? 1 : 0))]));
  const grads = await timed('gradients', () => perSampleGradients(m, layers, data, {
    seed: o.seed + 1, masks, signal: hooks.signal,
    onProgress: (done, total) => emit({ type: 'stage', stage: 'gradients', done, total, message: 'choosing λ' }),
  }));
  let sum = 0, count = 0;
  for (const G of grads.grads.values()) { for (const g of G) sum += g * g; count += G.length; }
  const scale = Math.max(sum / Math.max(1, count), 1e-30);                     // tr(F̂)/d = Σ g² / (N d)
  const judge = judgeData.labels ? judgeData : { ...judgeData, labels: await predictLabels(m, judgeData) };
  const table: NonNullable<PruneReport['dampSearch']> = [];
  const quiet: RunHooks = { signal: hooks.signal, onEvent: e => { if (e.type === 'stage') emit({ ...e, message: `choosing λ ${table.length + 1}/${DAMP_SEARCH.length}` }); } };
  for (const relative of DAMP_SEARCH) {
    const damp = relative * scale;
    await pruneStep(m, layers, data, { ...o, recompute: 1 }, 1, strategy, quiet, timed, damp, grads);
    const r = await timed('evaluate', () => evaluate(m, judge, { signal: hooks.signal }));
    table.push({ damp, relative, loss: r.loss, accuracy: r.accuracy });
    emit({ type: 'damp', damp, relative, loss: r.loss, accuracy: r.accuracy });
    for (const l of layers) writeKernel(m, l, dense.get(l.name)!);                // back to the dense weights
  }
  const best = table.reduce((a, b) => (b.loss < a.loss ? b : a));
  emit({ type: 'damp', ...best, chosen: true });
  emit({ type: 'log', level: 'info', message: `λ = ${best.damp.toExponential(2)} (${best.relative} × the Fisher's mean diagonal) had the lowest calibration loss, ${best.loss.toFixed(4)}` });
  return { damp: best.damp, grads, table };
}

const warned = new Set<string>();
/** A warning about the machine, not the run (e.g. no native products): once per process, however many runs (demo, sweep). */
function warnOnce(message: string, emit: (e: PruneEvent) => void): void {
  if (warned.has(message)) return;
  warned.add(message);
  emit({ type: 'log', level: 'warn', message });
}

/** The machine a run used, for the report and the panel (under Remote-SSH/WSL/containers: the remote host). */
function hostSummary(): string {
  return `${os.hostname()} (${process.platform}-${process.arch}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB)`;
}
