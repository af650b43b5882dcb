// Structured one-shot pruning (structure 'neurons'): remove whole units by OBS group saliency, move the remaining
// weights by the group update, then physically shrink the model.
//   load → gradients → row-aligned Fisher blocks → group saliency per unit class → selection → group update → shrink
//   → measure (params, FLOPs, latency) → evaluate → save
import * as path from 'node:path';
import { initBackend } from '../backend';
import { useFastestGemm } from '../linalg/fastest';
import { writeKernel, saveModel, type LoadedModel } from '../model/load';
import { claimOutput, type OutputClaim } from '../output/claim';
import { torchShape } from '../model/layout';
import { gradientPassBytes } from '../gradients/perSample';
import { evaluateStage, predictProbabilities } from '../gradients/evaluate';
import { checkInputFiles, hostSummary, loadInputs, runtimeNotes, stageClock, usedSettings } from '../runKit';
import { checkAbort, forEachUpdateGroup, pruneStep, type Selection, type StepContext, type Timed } from '../step';
import { outputForRun } from '../model/quantize';
import { gatherBlock } from '../fisher/blocks';
import { fisherBlockInverse } from '../fisher/inverse';
import type { FisherBlockInverse } from '../fisher/blockInverse';
import { rowAlignedRanges, rowSaliencies, groupUpdate, wholeBlockSaliency } from '../obs/group';
import { METHODS, needsGradients } from '../methods';
import { planMemory, assertPlanFits, runtimeBytes, type Plan } from '../memory';
import { finiteOf, logHistogram, spread } from '../layerStats';
import { channelGraph, type ChannelGraph } from './graph';
import { shrinkModel } from './shrink';
import { foldRemovedUnits } from './fold';
import { MacCounter, compareLatency } from './cost';
import { selectUnits } from './select';
import {
  DEFAULT_OPTIONS,
  WoodFisherError,
  type LayerOverride,
  type LayerResult,
  type ModelCost,
  type PrunableLayer,
  type PruneEvent,
  type PruneOptions,
  type PruneReport,
  type RunHooks,
} from '../types';
import { tf } from '../backend';

export const DEFAULT_MIN_KEEP = 0.1;

export function validateStructured(o: PruneOptions): void {
  const bad = (msg: string) => new WoodFisherError(msg, 'OPTIONS');
  if (o.pattern) throw bad('an N:M pattern prunes weights, not units; drop pattern or structure');
  if (o.method === 'woodtaylor')
    throw bad("structure 'neurons' scores units with woodfisher, diagfisher, magnitude or global-magnitude (not woodtaylor)");
  if (o.recompute > 1) throw bad("structure 'neurons' removes units in one step; drop recompute");
  if (o.targetSize !== undefined) throw bad("structure 'neurons' takes a FLOPs target (targetFlops), not a size target; drop targetSize");
  if (o.targetFlops !== undefined && !(o.targetFlops > 0 && o.targetFlops <= 1))
    throw bad(`targetFlops must be in (0, 1], the fraction of FLOPs to keep (got ${o.targetFlops})`);
  if (o.minKeep !== undefined && !(o.minKeep >= 0 && o.minKeep <= 1)) throw bad(`minKeep must be in [0, 1] (got ${o.minKeep})`);
  if (!(o.sparsity >= 0 && o.sparsity < 1)) throw bad(`sparsity (the fraction of units to remove) must be in [0, 1), got ${o.sparsity}`);
}

/** Rows of a prunable layer's kernel in the paper's layout and the unit class of each (−1: stays). */
export interface ScoredLayer {
  layer: PrunableLayer;
  rowLength: number;
  rowClass: Int32Array;
  saliency: Float64Array;
  blocks: number;
  form: string;
}

/** Weights in one row of a layer's kernel in the paper's layout: a unit's incoming weights. */
const rowLength = (l: PrunableLayer) => l.size / l.torchShape[0];

/**
 * The channel graph, the layers whose rows are scored (those with removable units, excluded layers left out: their
 * units stay, so their gradients would serve nothing) and the classes that stay with them; or the reason there are none.
 */
export function unitLayers(
  m: LoadedModel,
  overrides: Record<string, LayerOverride> = {},
): { g: ChannelGraph; layers: ScoredLayer[]; fixed: Set<number> } {
  const g = channelGraph(m.model);
  if (g.classes.length === 0)
    throw new WoodFisherError(
      `no unit of this model can be removed (the last layer's outputs never are)${g.notes.length ? ': ' + g.notes.join('; ') : ''}`,
      'OPTIONS',
    );
  const all = scoredLayers(m, g),
    fixed = new Set<number>();
  for (const s of all.filter(s => overrides[s.layer.name]?.exclude)) for (const c of s.rowClass) if (c >= 0) fixed.add(c);
  const layers = all.filter(s => !overrides[s.layer.name]?.exclude);
  if (layers.length === 0) throw new WoodFisherError('every layer with removable units is excluded; nothing to remove', 'OPTIONS');
  return { g, layers, fixed };
}

/**
 * The memory plan of a structured run over its scored layers: Fisher blocks of whole rows (up to max(B, row length)
 * weights), an inverse only for blocks of several rows, built one at a time on the main thread; the gradients streamed by layer group when they do not fit (planMemory).
 */
export function structuredPlan(
  m: LoadedModel,
  layers: PrunableLayer[],
  o: Pick<PruneOptions, 'blockSize' | 'method' | 'inverseForm' | 'maxMemoryBytes'>,
  samples: number,
  dataBytes: number,
  runtime?: number,
): Plan {
  return planMemory({
    layers,
    samples,
    blockSize: Math.max(1, ...layers.map(l => rowAlignedRanges(l.size, rowLength(l), o.blockSize)[0].end)),
    method: o.method,
    inverseForm: o.inverseForm,
    limitBytes: o.maxMemoryBytes,
    threads: 1,
    blocksAtOnce: 1,
    inverseBlocks: l =>
      rowAlignedRanges(l.size, rowLength(l), o.blockSize)
        .map(r => r.end - r.start)
        .filter(b => b > rowLength(l)),
    gradientPassBytes: samples > 0 && needsGradients(o.method) ? gradientPassBytes(m, layers, samples) : undefined,
    dataBytes,
    stream: true,
    runtimeBytes: runtime,
  });
}

function scoredLayers(m: LoadedModel, g: ChannelGraph): ScoredLayer[] {
  const out: ScoredLayer[] = [];
  for (const layer of m.prunable) {
    const l = g.layers.get(layer.name);
    const rows = layer.torchShape[0];
    let rowClass: Int32Array;
    if (l?.role === 'producer') rowClass = Int32Array.from(l.outIds, id => g.classOf(id));
    else if (l?.role === 'member' && layer.kind === 'DepthwiseConv2D') rowClass = Int32Array.from(l.inIds!, id => g.classOf(id));
    else continue;
    if (rowClass.length !== rows || rowClass.every(c => c < 0)) continue;
    out.push({ layer, rowLength: rowLength(layer), rowClass, saliency: new Float64Array(rows), blocks: 0, form: 'none' });
  }
  return out;
}

/**
 * Row saliencies of one layer group (pruneStep's `blocks`, its gradients in ctx.grads): a row's sum of the method's own
 * saliency (magnitude: L1 norm; diagonal Fisher: Σ ½ F_qq w_q²), else block by block ρ_Q = ½ w_Qᵀ(E_QᵀF⁻¹E_Q)⁻¹w_Q
 * (a one-row block: ½wᵀFw, no inverse); the inverses go to `kept` for the update when the plan keeps them.
 */
async function scoreRows(ctx: StepContext, group: number[], layers: ScoredLayer[], kept?: Map<number, FisherBlockInverse>) {
  const { method, n, damp } = ctx;
  await ctx.timed('blocks', async () => {
    for (const i of group) {
      const s = layers[i],
        w = ctx.layers[i].w,
        d = s.layer.size,
        G = ctx.grads?.get(s.layer.name);
      if (method.layerSaliency) {
        const q = method.layerSaliency(w, G, n, damp);
        for (let r = 0; r < s.saliency.length; r++) {
          let a = 0;
          for (let k = r * s.rowLength; k < (r + 1) * s.rowLength; k++) a += q[k];
          s.saliency[r] = a;
        }
        s.form = method.form;
        continue;
      }
      const blocks = ctx.blocks.filter(b => b.layer === i);
      s.blocks = blocks.length;
      for (const [bi, { id, range: r }] of blocks.entries()) {
        checkAbort(ctx.signal);
        const b = r.end - r.start,
          Gb = gatherBlock(G!, n, d, r),
          wb = w.subarray(r.start, r.end);
        if (b === s.rowLength) {
          s.saliency[r.start / s.rowLength] = wholeBlockSaliency(Gb, n, wb, damp);
          s.form = 'whole-row';
        } else {
          const inv = fisherBlockInverse(Gb, n, b, damp, ctx.options.inverseForm);
          kept?.set(id, inv); // for the update (the plan counts them)
          s.form = inv.form;
          s.saliency.set(rowSaliencies(wb, s.rowLength, inv), r.start / s.rowLength);
        }
        ctx.emit({ type: 'stage', stage: 'blocks', done: bi + 1, total: blocks.length, layer: s.layer.name });
        await new Promise<void>(res => setImmediate(res));
      }
    }
  });
}

/** The classes to remove: one saliency per class, the sum over every row it removes (tied producers, depthwise
 *  channels), lowest first per layer or globally, to the fraction or the FLOPs target; warns where it falls short. */
async function selectClasses(
  o: PruneOptions,
  g: ChannelGraph,
  layers: ScoredLayer[],
  fixed: Set<number>,
  counter: MacCounter,
  macsBefore: number,
  emit: (e: PruneEvent) => void,
  timed: Timed,
): Promise<Uint8Array> {
  emit({ type: 'stage', stage: 'selection', done: 0, total: 1 });
  const classSaliency = new Float64Array(g.classes.length);
  for (const s of layers)
    s.rowClass.forEach((c, r) => {
      if (c >= 0) classSaliency[c] += s.saliency[r];
    });
  const layerSparsity: Record<string, number> = {};
  for (const [name, ov] of Object.entries(o.layers)) if (ov.sparsity !== undefined) layerSparsity[name] = ov.sparsity;
  const { removed, shortfall } = await timed('selection', () =>
    selectUnits(g, classSaliency, counter, {
      sparsity: o.sparsity,
      targetMacs: o.targetFlops !== undefined ? o.targetFlops * macsBefore : undefined,
      scope: METHODS[o.method].scope ?? o.scope,
      layerSparsity,
      fixed,
      minKeep: o.minKeep ?? DEFAULT_MIN_KEEP,
    }),
  );
  emit({ type: 'stage', stage: 'selection', done: 1, total: 1 });
  if (o.targetFlops !== undefined && counter.total() > o.targetFlops * macsBefore * (1 + 1e-9)) {
    emit({
      type: 'log',
      level: 'warn',
      message: `FLOPs target ${o.targetFlops} not reached: the per-layer minimums (minKeep ${o.minKeep ?? DEFAULT_MIN_KEEP}) stop at ${(counter.total() / macsBefore).toFixed(3)}`,
    });
  }
  if (shortfall > 0)
    emit({
      type: 'log',
      level: 'warn',
      message: `${shortfall} units asked for stay: every layer keeps at least max(1, ⌈${o.minKeep ?? DEFAULT_MIN_KEEP}·units⌉) (--min-keep)`,
    });
  return removed;
}

/** The removed classes as each layer's weight mask (1 = in a removed row) and threshold (its largest removed row saliency). */
function rowSelection(layers: ScoredLayer[], removed: Uint8Array): Selection {
  const masks: Uint8Array[] = [],
    thresholds: number[] = [];
  for (const s of layers) {
    const mask = new Uint8Array(s.layer.size);
    let threshold = NaN;
    s.rowClass.forEach((c, r) => {
      if (c < 0 || !removed[c]) return;
      mask.fill(1, r * s.rowLength, (r + 1) * s.rowLength);
      if (!(s.saliency[r] <= threshold)) threshold = s.saliency[r];
    });
    masks.push(mask);
    thresholds.push(threshold);
  }
  return { masks, thresholds };
}

/**
 * Group OBS update of each layer's remaining rows, block by block (pruneStep's `update`): δw = −F⁻¹E_Q(E_QᵀF⁻¹E_Q)⁻¹E_Qᵀw
 * over the block's removed rows Q, F⁻¹ kept or rebuilt from the group's gradients (forEachUpdateGroup: computed again
 * when streamed); removed rows end 0. Writes the kernels back once every group is done.
 */
async function groupUpdates(
  ctx: StepContext,
  layers: ScoredLayer[],
  { masks }: Selection,
  update: 'group' | 'none',
  kept: Map<number, FisherBlockInverse>,
): Promise<void> {
  const { n, damp } = ctx;
  const next = ctx.layers.map(work => new Float64Array(work.layer.size));
  await forEachUpdateGroup(ctx, (group, rebuildFrom) =>
    ctx.timed('update', async () => {
      for (const i of group) {
        const s = layers[i],
          w = ctx.layers[i].w,
          d = s.layer.size;
        const blocks = ctx.blocks.filter(b => b.layer === i);
        for (const [bi, { id, range: r }] of blocks.entries()) {
          checkAbort(ctx.signal);
          const b = r.end - r.start;
          const rows: number[] = [];
          for (let k = 0; k < b / s.rowLength; k++) if (masks[i][r.start + k * s.rowLength]) rows.push(k);
          const inv =
            update === 'group' && rows.length && b > s.rowLength
              ? (kept.get(id) ??
                fisherBlockInverse(gatherBlock(rebuildFrom!.get(s.layer.name)!, n, d, r), n, b, damp, ctx.options.inverseForm))
              : null;
          kept.delete(id);
          const wb = groupUpdate(w.slice(r.start, r.end), s.rowLength, rows, inv);
          for (let k = 0; k < b; k++)
            if (!Number.isFinite(wb[k]))
              throw new WoodFisherError(`the group update of layer ${s.layer.name} produced non-finite weights; raise --damp`, 'NUMERIC');
          next[i].set(wb, r.start);
          ctx.emit({ type: 'stage', stage: 'update', done: bi + 1, total: blocks.length, layer: s.layer.name });
        }
      }
    }),
  );
  // written only now: a group's gradients computed again for its update must see the weights of the first pass
  layers.forEach((s, i) => writeKernel(ctx.model, s.layer, next[i]));
}

/** Parameters, FLOPs (2·MACs) and latency (batch 1 and 32, median of interleaved repeats) of the model before and after. */
async function modelCosts(
  original: tf.LayersModel,
  macsBefore: number,
  shrunk: tf.LayersModel,
  macsAfter: number,
): Promise<[ModelCost, ModelCost]> {
  const [b1o, b1s] = await compareLatency([original, shrunk], 1, 21, 3);
  const [b32o, b32s] = await compareLatency([original, shrunk], 32, 11, 2);
  return [
    { params: original.countParams(), flops: 2 * macsBefore, latencyMs: { batch1: b1o, batch32: b32o } },
    { params: shrunk.countParams(), flops: 2 * macsAfter, latencyMs: { batch1: b1s, batch32: b32s } },
  ];
}

/** Runs structured pruning and writes the physically smaller model and report.json to options.outDir. */
export async function runStructuredPrune(options: PruneOptions, hooks: RunHooks = {}): Promise<PruneReport> {
  const o: PruneOptions = { ...DEFAULT_OPTIONS, ...options, scope: options.scope ?? 'layer', layers: options.layers ?? {} };
  validateStructured(o);
  checkInputFiles(o);
  // The output is checked and locked before any work (src/engine/output/claim.ts).
  const out = hooks.output ?? claimOutput(o.outDir, { kind: 'structured', inputFolder: path.dirname(o.modelPath) });
  try {
    return await structuredInto(o, out, hooks);
  } finally {
    if (!hooks.output) out.release();
  }
}

async function structuredInto(o: PruneOptions, out: OutputClaim, hooks: RunHooks): Promise<PruneReport> {
  const { signal } = hooks;
  const emit = hooks.onEvent ?? (() => {});
  const check = () => checkAbort(signal);
  const clock = stageClock(),
    { timed, seconds } = clock;
  const outDir = out.dir;
  for (const message of out.notes) emit({ type: 'log', level: 'warn', message });

  emit({ type: 'stage', stage: 'load', done: 0, total: 1 });
  const backend = await initBackend(o.backend);
  const runtime = runtimeBytes(); // before the model and data, and before onnxruntime's thread starts (see memory.ts)
  const linalg = useFastestGemm();
  const { model: m, data, evalData } = await timed('load', () => loadInputs(o));
  let shrunk: tf.LayersModel | undefined;
  try {
    const { g, layers, fixed } = unitLayers(m, o.layers);
    for (const note of g.notes) emit({ type: 'log', level: 'info', message: note });
    const memory = structuredPlan(
      m,
      layers.map(s => s.layer),
      o,
      data?.count ?? 0,
      (data?.x.byteLength ?? 0) + (evalData?.x.byteLength ?? 0),
      runtime,
    );
    emit({ type: 'plan', layers: m.prunable, memory, backend });
    assertPlanFits(memory);
    if (memory.gradients === 'streamed' || memory.strategy === 'rebuild')
      emit({ type: 'log', level: 'info', message: `memory plan: ${memory.why}` });
    emit({ type: 'stage', stage: 'load', done: 1, total: 1 });
    const notes = runtimeNotes(backend, METHODS[o.method].needsInverse, emit);
    const counter = new MacCounter(m.model, g);
    // unlabeled evaluation data: the shrunk model is judged against the dense one's predictions (agreement, KL)
    const dense = evalData && !evalData.labels ? await timed('evaluate', () => predictProbabilities(m, evalData, signal)) : undefined;
    const before = evalData ? await timed('evaluate', () => evaluateStage(m, evalData, 'before', hooks, dense)) : undefined;

    // saliency of every row (a unit's incoming weights) from Fisher blocks of whole rows, selection, group update: one
    // step.ts step, so the gradients stream by layer group exactly as one-shot's when the plan says so. No block spans
    // two layers and a class sums its rows only once every group is scored, so grouping never splits a unit.
    const damp = o.damp === 'auto' ? 1e-5 : o.damp;
    if (o.damp === 'auto')
      emit({ type: 'log', level: 'warn', message: "damp 'auto' is not searched for structured pruning; using λ = 1e-5" });
    const update = o.method === 'woodfisher' && o.update !== 'none' ? 'group' : 'none';
    const kept = new Map<number, FisherBlockInverse>(); // block id → inverse, from saliency to update when the plan keeps them
    const macsBefore = counter.total();
    let chosen: { removed: Uint8Array; selection: Selection } | undefined;
    const step = await pruneStep({
      model: m,
      layers: layers.map(s => s.layer),
      data: data && o.sampleLabels ? { ...data, labels: undefined } : data, // the "true" Fisher: labels drawn from the model
      options: o,
      target: { sparsity: o.sparsity, layers: {} },
      damp,
      inverses: memory.strategy,
      groups: memory.groups,
      hooks,
      timed,
      ranges: l => rowAlignedRanges(l.size, rowLength(l), o.blockSize),
      blocks: (ctx, group) => scoreRows(ctx, group, layers, memory.strategy === 'keep' ? kept : undefined),
      select: async () => {
        const removed = await selectClasses(o, g, layers, fixed, counter, macsBefore, emit, timed);
        chosen = { removed, selection: rowSelection(layers, removed) };
        return chosen.selection;
      },
      update: async (ctx, selection) => {
        await groupUpdates(ctx, layers, selection, update, kept);
        return [];
      },
    });
    const { removed, selection } = chosen!;
    emit({ type: 'stage', stage: 'save', done: 0, total: 1, message: 'shrinking the model' });
    const constants = foldRemovedUnits(m.model, g, removed);
    if (constants.dropped)
      emit({
        type: 'log',
        level: 'info',
        message: `${constants.dropped} removed units' constant outputs could not be folded into a bias (zero padding or a consumer without a bias) and are dropped`,
      });
    const result = await shrinkModel(m.model, g, removed);
    shrunk = result.model;
    const small: LoadedModel = { ...m, model: shrunk, prunable: m.prunable.map(l => resized(l, shrunk!)) };
    emit({ type: 'stage', stage: 'evaluate', done: 0, total: 1, message: 'latency before and after' });
    const [costBefore, costAfter] = await timed('evaluate', () =>
      modelCosts(m.model, macsBefore, shrunk!, new MacCounter(shrunk!, channelGraph(shrunk!)).total()),
    );
    emit({ type: 'stage', stage: 'evaluate', done: 1, total: 1, message: 'latency before and after' });
    // the weights as written (each in its input encoding, or --quantize): what --eval measures and saveModel writes
    const { encoded, quantization, size } = await timed('save', () => outputForRun(small, o));
    const after = evalData ? await timed('evaluate', () => evaluateStage(small, evalData, 'after', hooks, dense)) : undefined;

    const units = new Map(result.units.map(u => [u.layer, u]));
    const results: LayerResult[] = [];
    for (const layer of m.prunable) {
      const i = layers.findIndex(x => x.layer.name === layer.name),
        s = layers[i],
        now = small.prunable.find(l => l.name === layer.name)!;
      const u = units.get(layer.name);
      const finite = finiteOf(s ? s.saliency : new Float64Array(0));
      const lr: LayerResult = {
        name: layer.name,
        kind: layer.kind,
        weights: layer.size,
        pruned: layer.size - now.size,
        sparsity: (layer.size - now.size) / layer.size,
        threshold: s ? selection.thresholds[i] : NaN,
        saliency: spread(finite),
        histogram: logHistogram(finite), // any order: spread's reordering does not change it
        blocks: s?.blocks ?? 0,
        form: s?.form ?? 'none',
        excluded: o.layers[layer.name]?.exclude || undefined,
        units: u
          ? { kept: u.kept, of: u.of }
          : layer.kind === 'DepthwiseConv2D'
            ? { kept: now.torchShape[0], of: layer.torchShape[0] }
            : undefined,
      };
      results.push(lr);
      emit({ type: 'layer', result: lr, step: 1 });
    }

    const weights = results.reduce((a, r) => a + r.weights, 0),
      pruned = results.reduce((a, r) => a + r.pruned, 0);
    const total = g.producers.reduce((a, p) => a + p.units, 0),
      removable = g.classes.reduce((a, c) => a + c.units.length, 0);
    let removedUnits = 0;
    removed.forEach((r, c) => {
      if (r) removedUnits += g.classes[c].units.length;
    });
    const report: PruneReport = {
      version: 1,
      model: path.resolve(o.modelPath),
      output: outDir,
      settings: usedSettings(o, step.labelsSource ?? (data?.labels ? 'given' : 'sampled')),
      backend,
      linalg,
      host: hostSummary(),
      ...notes,
      sparsity: { target: o.sparsity, achieved: weights ? pruned / weights : 0, pruned, weights },
      layers: results,
      before,
      after,
      seconds: { ...seconds, total: 0 },
      memory,
      steps: 1,
      damp,
      size,
      quantization,
      structure: {
        units: { removed: removedUnits, removable, total },
        classes: g.classes.length,
        update,
        targetFlops: o.targetFlops,
        constants,
        before: costBefore,
        after: costAfter,
        notes: g.notes,
      },
    };
    check();
    const saved = await timed('save', async () => {
      report.seconds = { ...seconds, total: clock.total() };
      return saveModel(small, out, { 'report.json': JSON.stringify(report, null, 2) + '\n' }, encoded);
    });
    report.seconds = { ...seconds, total: clock.total() };
    emit({ type: 'stage', stage: 'save', done: 1, total: 1 });
    emit({ type: 'done', report, reportPath: path.join(path.dirname(saved), 'report.json'), modelPath: saved });
    return report;
  } finally {
    m.model.dispose();
    shrunk?.dispose();
  }
}

/** The prunable layer as it is in the shrunk model. */
function resized(l: PrunableLayer, model: tf.LayersModel): PrunableLayer {
  const shape = model.getLayer(l.name).weights[0].shape.slice() as number[];
  return { ...l, shape, torchShape: torchShape(l.kind, shape), size: shape.reduce((a, b) => a * b, 1) };
}
