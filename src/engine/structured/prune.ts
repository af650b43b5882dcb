// Structured one-shot pruning (structure 'neurons'): remove whole units by OBS group saliency, move the remaining
// weights by the group update, then physically shrink the model.
//   load → gradients → row-aligned Fisher blocks → group saliency per unit class → selection → group update → shrink
//   → measure (params, FLOPs, latency) → evaluate → save
import * as path from 'node:path';
import { initBackend } from '../backend';
import { useFastestGemm } from '../linalg/fastest';
import { readKernel, writeKernel, saveModel, type LoadedModel } from '../model/load';
import { claimOutput, type OutputClaim } from '../output/claim';
import { torchShape } from '../model/layout';
import { gradientPassBytes, perSampleGradients } from '../gradients/perSample';
import { evaluateStage, predictProbabilities } from '../gradients/evaluate';
import { checkInputFiles, hostSummary, loadInputs, runtimeNotes, stageClock, usedSettings } from '../runKit';
import { checkAbort } from '../step';
import { outputForRun } from '../model/quantize';
import { gatherBlock } from '../fisher/blocks';
import { fisherBlockInverse } from '../fisher/inverse';
import type { FisherBlockInverse } from '../fisher/blockInverse';
import { rowAlignedRanges, rowSaliencies, groupUpdate, wholeBlockSaliency } from '../obs/group';
import { METHODS, needsGradients } from '../methods';
import { planMemory, assertPlanFits, runtimeBytes } from '../memory';
import { logHistogram } from '../layerStats';
import { channelGraph, type ChannelGraph } from './graph';
import { shrinkModel } from './shrink';
import { foldRemovedUnits } from './fold';
import { MacCounter, compareLatency } from './cost';
import { selectUnits } from './select';
import {
  DEFAULT_OPTIONS,
  WoodFisherError,
  type LayerResult,
  type ModelCost,
  type PrunableLayer,
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
interface ScoredLayer {
  layer: PrunableLayer;
  rowLength: number;
  rowClass: Int32Array;
  saliency: Float64Array;
  blocks: number;
  form: string;
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
    out.push({ layer, rowLength: layer.size / rows, rowClass, saliency: new Float64Array(rows), blocks: 0, form: 'none' });
  }
  return out;
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
  const linalg = useFastestGemm();
  const runtime = runtimeBytes(); // before the model and data
  const gradientsNeeded = needsGradients(o.method);
  const { model: m, data, evalData } = await timed('load', () => loadInputs(o));
  let shrunk: tf.LayersModel | undefined;
  try {
    const g = channelGraph(m.model);
    if (g.classes.length === 0)
      throw new WoodFisherError(
        `no unit of this model can be removed (the last layer's outputs never are)${g.notes.length ? ': ' + g.notes.join('; ') : ''}`,
        'OPTIONS',
      );
    for (const note of g.notes) emit({ type: 'log', level: 'info', message: note });
    const layers = scoredLayers(m, g);
    // blocks of whole rows hold up to max(B, row length) weights; one block at a time (threads: 1)
    const alignedBlock = Math.max(1, ...layers.map(s => rowAlignedRanges(s.layer.size, s.rowLength, o.blockSize)[0].end));
    const memory = planMemory({
      layers: layers.map(s => s.layer),
      samples: data?.count ?? 0,
      blockSize: alignedBlock,
      method: o.method,
      inverseForm: o.inverseForm,
      limitBytes: o.maxMemoryBytes,
      threads: 1,
      gradientPassBytes: data
        ? gradientPassBytes(
            m,
            layers.map(s => s.layer),
            data.count,
          )
        : undefined,
      dataBytes: (data?.x.byteLength ?? 0) + (evalData?.x.byteLength ?? 0),
      runtimeBytes: runtime,
    });
    emit({ type: 'plan', layers: m.prunable, memory, backend });
    assertPlanFits(memory);
    emit({ type: 'stage', stage: 'load', done: 1, total: 1 });
    const notes = runtimeNotes(backend, METHODS[o.method].needsInverse, emit);
    const counter = new MacCounter(m.model, g);
    // unlabeled evaluation data: the shrunk model is judged against the dense one's predictions (agreement, KL)
    const dense = evalData && !evalData.labels ? await timed('evaluate', () => predictProbabilities(m, evalData, signal)) : undefined;
    const before = evalData ? await timed('evaluate', () => evaluateStage(m, evalData, 'before', hooks, dense)) : undefined;

    // saliency of every row (a unit's incoming weights), Fisher blocks of whole rows
    const n = data?.count ?? 0;
    const grads =
      gradientsNeeded && data
        ? await timed('gradients', () =>
            perSampleGradients(
              m,
              layers.map(s => s.layer),
              data,
              {
                seed: o.seed + 1,
                signal,
                onProgress: (done, total) => emit({ type: 'stage', stage: 'gradients', done, total }),
              },
            ),
          )
        : undefined;
    const damp = o.damp === 'auto' ? 1e-5 : o.damp;
    if (o.damp === 'auto')
      emit({ type: 'log', level: 'warn', message: "damp 'auto' is not searched for structured pruning; using λ = 1e-5" });
    const kept = new Map<string, FisherBlockInverse>(); // block inverses kept from saliency to update when they fit
    await timed('blocks', async () => {
      for (const s of layers) {
        const w = readKernel(m, s.layer),
          d = s.layer.size;
        const G = grads?.grads.get(s.layer.name);
        const method = METHODS[o.method];
        if (method.layerSaliency) {
          // a unit's saliency: the sum of its row's (magnitude: the row's L1 norm; diagonal Fisher: Σ ½ F_qq w_q²)
          const q = method.layerSaliency(w, G, n, damp);
          for (let r = 0; r < s.saliency.length; r++) {
            let a = 0;
            for (let i = r * s.rowLength; i < (r + 1) * s.rowLength; i++) a += q[i];
            s.saliency[r] = a;
          }
          s.form = method.form;
          continue;
        }
        const ranges = rowAlignedRanges(d, s.rowLength, o.blockSize);
        s.blocks = ranges.length;
        for (let bi = 0; bi < ranges.length; bi++) {
          check();
          const r = ranges[bi],
            b = r.end - r.start,
            Gb = gatherBlock(G!, n, d, r),
            wb = w.subarray(r.start, r.end);
          if (b === s.rowLength) {
            s.saliency[r.start / s.rowLength] = wholeBlockSaliency(Gb, n, wb, damp);
            s.form = 'whole-row';
          } else {
            const inv = fisherBlockInverse(Gb, n, b, damp, o.inverseForm);
            if (memory.strategy === 'keep') kept.set(`${s.layer.name}:${bi}`, inv); // for the update (the plan counts them)
            s.form = inv.form;
            s.saliency.set(rowSaliencies(wb, s.rowLength, inv), r.start / s.rowLength);
          }
          emit({ type: 'stage', stage: 'blocks', done: bi + 1, total: ranges.length, layer: s.layer.name });
          await new Promise<void>(res => setImmediate(res));
        }
      }
    });

    // one saliency per class: the sum over every row it removes (tied producers, depthwise channels)
    emit({ type: 'stage', stage: 'selection', done: 0, total: 1 });
    const classSaliency = new Float64Array(g.classes.length);
    for (const s of layers)
      s.rowClass.forEach((c, r) => {
        if (c >= 0) classSaliency[c] += s.saliency[r];
      });
    const fixed = new Set<number>();
    for (const s of layers)
      if (o.layers[s.layer.name]?.exclude)
        s.rowClass.forEach(c => {
          if (c >= 0) fixed.add(c);
        });
    const macsBefore = counter.total();
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

    // group OBS update of each layer's remaining rows, block by block
    const update = o.method === 'woodfisher' && o.update !== 'none' ? 'group' : 'none';
    const results: LayerResult[] = [];
    await timed('update', async () => {
      for (const s of layers) {
        const w = readKernel(m, s.layer),
          d = s.layer.size,
          G = grads?.grads.get(s.layer.name);
        const prunedRow = Uint8Array.from(s.rowClass, c => (c >= 0 && removed[c] ? 1 : 0));
        const ranges = rowAlignedRanges(d, s.rowLength, o.blockSize);
        const next = new Float64Array(d);
        for (let bi = 0; bi < ranges.length; bi++) {
          check();
          const r = ranges[bi],
            b = r.end - r.start,
            r0 = r.start / s.rowLength;
          const rows: number[] = [];
          for (let k = 0; k < b / s.rowLength; k++) if (prunedRow[r0 + k]) rows.push(k);
          const inv =
            update === 'group' && rows.length && b > s.rowLength
              ? (kept.get(`${s.layer.name}:${bi}`) ?? fisherBlockInverse(gatherBlock(G!, n, d, r), n, b, damp, o.inverseForm))
              : null;
          kept.delete(`${s.layer.name}:${bi}`);
          const wb = groupUpdate(w.slice(r.start, r.end), s.rowLength, rows, inv);
          for (let i = 0; i < b; i++)
            if (!Number.isFinite(wb[i]))
              throw new WoodFisherError(`the group update of layer ${s.layer.name} produced non-finite weights; raise --damp`, 'NUMERIC');
          next.set(wb, r.start);
          emit({ type: 'stage', stage: 'update', done: bi + 1, total: ranges.length, layer: s.layer.name });
        }
        writeKernel(m, s.layer, next);
      }
    });

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
    for (const layer of m.prunable) {
      const s = layers.find(x => x.layer.name === layer.name),
        now = small.prunable.find(l => l.name === layer.name)!;
      const u = units.get(layer.name);
      const sal = s ? Float64Array.from(s.saliency) : new Float64Array(0),
        sorted = Float64Array.from(sal).sort();
      const stat = (q: number) => (sorted.length ? sorted[Math.floor(q * (sorted.length - 1) + 0.5)] : NaN);
      let threshold = NaN;
      if (s)
        s.rowClass.forEach((c, r) => {
          if (c >= 0 && removed[c] && !(s.saliency[r] <= threshold)) threshold = s.saliency[r];
        });
      const lr: LayerResult = {
        name: layer.name,
        kind: layer.kind,
        weights: layer.size,
        pruned: layer.size - now.size,
        sparsity: (layer.size - now.size) / layer.size,
        threshold,
        saliency: { min: stat(0), median: stat(0.5), max: stat(1) },
        histogram: logHistogram(sorted),
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
      settings: usedSettings(o, grads?.labelsSource ?? (data?.labels ? 'given' : 'sampled')),
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
