// Gradual pruning with fine-tuning (the paper's second setting): prune to s_k with the one-shot step at the
// current weights, fine-tune with the masks held, repeat on the cubic schedule; fine-tune to the last epoch.
import * as path from 'node:path';
import { initBackend } from '../backend';
import { useFastestGemm } from '../linalg/fastest';
import { runtimeNotes } from '../runKit';
import { loadModel, readKernel, type LoadedModel } from '../model/load';
import { checkLayerOverrides } from '../model/overrides';
import { loadDataset, type Dataset } from '../data/calibration';
import { mulberry32, sampleIndices } from '../data/random';
import { evaluate } from '../gradients/evaluate';
import { planMemory, assertPlanFits, defaultMemoryLimit, runtimeBytes } from '../memory';
import { gradientPassBytes } from '../gradients/perSample';
import { blockThreads } from '../fisher/blockPool';
import { blockRanges } from '../fisher/blocks';
import { validateOptions } from '../prune';
import { needsGradients } from '../methods';
import {
  DEFAULT_GRADUAL,
  DEFAULT_OPTIONS,
  WoodFisherError,
  type EpochRecord,
  type EvalResult,
  type GradualEvent,
  type GradualHooks,
  type GradualOptions,
  type GradualReport,
  type GradualSchedule,
  type LayerResult,
  type MemoryPlan,
  type PrunableLayer,
  type PruningStepRecord,
} from '../types';
import { cubicSparsity, defaultSchedule, pruningSteps, type PruningStep } from './schedule';
import { learningRate } from './learningRate';
import { MaskedOptimizer } from './optimizer';
import { openTrainingData, subset, type TrainingData } from './trainingData';
import { trainableVariables, trainingStepBytes, trainStep } from './train';
import { checkpointSettings, encodeCheckpoint, readCheckpoint, resumeMismatch, type CheckpointState } from './checkpoint';
import { checkRunFolder, writeRunFolder } from './output';
import { outputForRun } from '../model/quantize';
import { claimOutput, type OutputClaim } from '../output/claim';
import { gradualPruneStep } from './pruneStep';
import { METHODS } from '../methods';

type Timer = 'load' | 'train' | 'prune' | 'evaluate' | 'save';

/** Options with every default filled in, the schedule's included (they depend on the epochs). */
type Resolved = GradualOptions & Required<Pick<GradualOptions, 'initialSparsity' | 'pruneStart' | 'pruneEnd' | 'pruneEvery'>>;

export function resolveGradualOptions(options: GradualOptions): Resolved {
  const o = { ...DEFAULT_OPTIONS, ...DEFAULT_GRADUAL, ...defined(options), layers: options.layers ?? {} } as GradualOptions;
  const d = defaultSchedule(o.epochs);
  const pruneStart = o.pruneStart ?? d.pruneStart;
  const pruneEnd = o.pruneEnd ?? Math.max(pruneStart, d.pruneEnd);
  const pruneEvery = o.pruneEvery ?? (pruneEnd > pruneStart ? (pruneEnd - pruneStart) / 3 : 1);
  return { ...o, pruneStart, pruneEnd, pruneEvery, initialSparsity: o.initialSparsity ?? d.initialSparsity };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function validateGradual(o: Resolved): void {
  const bad = (msg: string) => new WoodFisherError(msg, 'OPTIONS');
  validateOptions({ ...o, recompute: 1 });
  if (o.targetSize !== undefined) throw bad('a target size is for one-shot pruning (woodfisher prune); give gradual pruning a sparsity');
  if (o.structure === 'neurons')
    throw bad("gradual pruning zeroes single weights; structure 'neurons' (whole units) is one-shot: drop it, or run woodfisher prune");
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw bad(`the learning rate must be a positive number, got ${o.lr}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw bad(`batch size must be a positive integer, got ${o.batchSize}`);
  if (!(o.momentum >= 0 && o.momentum < 1)) throw bad(`momentum must be in [0, 1), got ${o.momentum}`);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) throw bad(`weight decay must be ≥ 0, got ${o.weightDecay}`);
  pruningSteps({ ...o, sparsity: o.sparsity }, 1); // validates the schedule
}

/** A seeded generator for one purpose (stream) and index: batch order of epoch e, calibration draw of step k. */
export function streamRandom(seed: number, stream: number, index: number): () => number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35) ^ Math.imul(index + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return mulberry32((h ^ (h >>> 15)) >>> 0);
}
const BATCH_ORDER = 1,
  CALIBRATION = 2;

/** Runs the whole gradual pruning; writes a checkpoint to outDir after every epoch and the final model at the end. */
export async function runGradual(options: GradualOptions, hooks: GradualHooks = {}): Promise<GradualReport> {
  const o = resolveGradualOptions(options);
  validateGradual(o);
  const emit: (e: GradualEvent) => void = hooks.onEvent ?? (() => {});
  const t0 = performance.now();
  // The output is checked and locked before any work; a sweep passes the folder it claimed (and wants no checkpoints).
  const out = hooks.output ?? claimOutput(o.outDir, { kind: 'gradual', inputFolder: path.dirname(o.modelPath) });
  try {
    for (const message of out.notes) emit({ type: 'log', level: 'warn', message });
    return await gradualInto(o, out, !hooks.output, hooks, t0);
  } finally {
    if (!hooks.output) out.release();
  }
}

async function gradualInto(o: Resolved, out: OutputClaim, checkpoints: boolean, hooks: GradualHooks, t0: number): Promise<GradualReport> {
  const emit: (e: GradualEvent) => void = hooks.onEvent ?? (() => {});
  const { signal } = hooks;
  const seconds: Record<Timer, number> = { load: 0, train: 0, prune: 0, evaluate: 0, save: 0 };
  const timed = async <T>(what: Timer, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      seconds[what] += (performance.now() - t) / 1000;
    }
  };
  checkRunFolder(out.dir, !!o.resume);
  const saved = o.resume ? readCheckpoint(out.dir) : undefined;
  if (saved) {
    const why = resumeMismatch(saved.settings, o);
    if (why) throw new WoodFisherError(`cannot resume: ${why}; run with the same settings, or start a new folder`, 'OPTIONS');
    for (const k of Object.keys(seconds) as Timer[]) seconds[k] = saved.seconds[k] ?? 0;
  }

  emit({ type: 'stage', stage: 'load', done: 0, total: 1 });
  const backend = await initBackend(o.backend);
  const runtime = runtimeBytes(); // before the model and data, and before onnxruntime's thread starts (see memory.ts)
  const linalg = useFastestGemm();
  const notes = runtimeNotes(backend, needsGradients(o.method), emit);
  const m = await timed('load', () => loadModel(o.modelPath));
  if (saved)
    await timed('load', () =>
      loadCheckpointWeights(m, out.dir).catch(e => {
        m.model.dispose();
        throw e;
      }),
    );
  let train: TrainingData | undefined;
  let opt: MaskedOptimizer | undefined;
  try {
    checkLayerOverrides(o.layers, m);
    const limit = o.maxMemoryBytes ?? defaultMemoryLimit(runtime);
    const { evalData } = await timed('load', async () => {
      train = openTrainingData(m, o.dataPath, o.labelsPath, limit);
      const evalData = o.evalPath ? await loadDataset(m, o.evalPath, o.evalLabelsPath, { maxBytes: limit }) : undefined;
      if (evalData && !evalData.labels)
        throw new WoodFisherError(`evaluation data ${o.evalPath} has no labels; pass --eval-labels`, 'LABELS');
      return { evalData };
    });
    const data = train!;
    const layers = m.prunable.filter(l => !o.layers[l.name]?.exclude);
    const nCal = Math.min(o.samples, data.count);
    const { variables, kernelIndex } = trainableVariables(m, m.prunable);
    const trainBytes = await trainingStepBytes(m, data.rowShape, Math.min(o.batchSize, data.count)); // the largest batch it trains on
    const memory = gradualMemoryPlan(
      m,
      o,
      trainBytes,
      layers,
      nCal,
      data,
      evalData,
      variables.reduce((a, v) => a + v.size, 0),
      limit,
      runtime,
    );
    emit({ type: 'plan', layers: m.prunable, memory, backend });
    assertPlanFits(memory);
    if (memory.gradients === 'streamed' || memory.strategy === 'rebuild')
      emit({ type: 'log', level: 'info', message: `memory plan: ${memory.why}` });
    emit({ type: 'stage', stage: 'load', done: 1, total: 1 });

    const B = Math.ceil(data.count / o.batchSize),
      E = o.epochs,
      T = E * B;
    const steps = pruningSteps(o, B);
    const schedule: GradualSchedule = {
      epochs: E,
      batchesPerEpoch: B,
      steps: steps.map(s => ({ k: s.k, epoch: s.epoch, sparsity: s.sparsity })),
    };
    emit({ type: 'schedule', schedule });
    if (nCal < o.samples)
      emit({
        type: 'log',
        level: 'warn',
        message: `the training data has ${data.count} samples; each pruning step uses all of them (asked for ${o.samples})`,
      });

    opt = new MaskedOptimizer(variables, { kind: o.optimizer, momentum: o.momentum, weightDecay: o.weightDecay });
    const epochs: EpochRecord[] = saved?.epochs ?? [];
    const records: PruningStepRecord[] = saved?.steps ?? [];
    let before: EvalResult | undefined = (saved?.settings as { before?: EvalResult } | undefined)?.before;
    if (saved) {
      opt.restore(saved.optimizer);
      for (const { layer, keep } of saved.masks) {
        const i = kernelIndex.get(layer);
        if (i === undefined || i < 0)
          throw new WoodFisherError(`the checkpoint has a mask for ${layer}, which the model cannot train`, 'OUTPUT');
        opt.setMask(i, keep);
      }
    } else if (evalData) {
      before = await timed('evaluate', () => runEval(m, evalData, 'before', hooks));
    }
    const damps: number[] = [];
    let iteration = saved?.iteration ?? 0;
    let next = steps.findIndex(s => s.iteration >= iteration);
    if (next < 0) next = steps.length;

    const masks = () =>
      m.prunable.flatMap(l => {
        const i = kernelIndex.get(l.name)!;
        const keep = i >= 0 ? opt!.mask(i) : undefined;
        return keep ? [{ layer: l.name, keep }] : [];
      });
    const sparsityNow = () => {
      const per: Record<string, number> = {};
      let zeros = 0,
        total = 0;
      for (const l of layers) {
        const w = readKernel(m, l);
        let z = 0;
        for (const v of w) if (v === 0) z++;
        per[l.name] = z / l.size;
        zeros += z;
        total += l.size;
      }
      return { overall: total ? zeros / total : 0, per };
    };

    const pruneAt = async (step: PruningStep) => {
      const t = performance.now();
      const K = steps.length - 1;
      const target = {
        sparsity: step.sparsity,
        layers: Object.fromEntries(
          Object.entries(o.layers).flatMap(([name, ov]) =>
            ov.sparsity === undefined ? [] : [[name, cubicSparsity(Math.min(o.initialSparsity, ov.sparsity), ov.sparsity, step.k, K)]],
          ),
        ),
      };
      // A step whose target is already met (s_0 = 0 by default) has nothing to prune: no gradients spent on it.
      const now = sparsityNow();
      const skip = step.sparsity <= now.overall && Object.entries(target.layers).every(([n, t]) => t <= (now.per[n] ?? 0));
      let results: LayerResult[], damp: number | undefined;
      if (skip) results = layerTable(m, layers, o.layers, []);
      else {
        const calib = subset(data, sampleIndices(data.count, nCal, streamRandom(o.seed, CALIBRATION, step.k)), 'calibration samples');
        const prev = steps[step.k - 1];
        const from = {
          sparsity: prev?.sparsity ?? 0,
          layers: Object.fromEntries(
            Object.keys(target.layers).map(n => [
              n,
              prev ? cubicSparsity(Math.min(o.initialSparsity, o.layers[n].sparsity!), o.layers[n].sparsity!, prev.k, K) : 0,
            ]),
          ),
        };
        const r = await timed('prune', () =>
          gradualPruneStep({
            model: m,
            layers,
            calibration: calib,
            options: { ...o, seed: o.seed + step.k },
            target,
            from,
            step: {
              k: step.k + 1,
              of: steps.length,
              label: `pruning step ${step.k + 1}/${steps.length} to ${(step.sparsity * 100).toFixed(1)}%`,
            },
            inverses: memory.strategy ?? 'keep',
            groups: memory.groups,
            hooks: { signal, onEvent: emit },
          }),
        );
        results = r.results;
        damp = r.damp;
        damps.push(r.damp);
      }
      for (const l of layers) {
        const i = kernelIndex.get(l.name)!;
        if (i >= 0)
          opt!.setMask(
            i,
            Float32Array.from(variables[i].dataSync(), v => (v === 0 ? 0 : 1)),
          ); // TF.js layout, as the variable
      }
      const after = evalData ? await timed('evaluate', () => evaluate(m, evalData, { signal })) : undefined;
      const pruned = results.reduce((a, r) => a + r.pruned, 0),
        weights = results.reduce((a, r) => a + r.weights, 0);
      const record: PruningStepRecord = {
        k: step.k,
        epoch: step.epoch,
        target: step.sparsity,
        achieved: weights ? pruned / weights : 0,
        layers: results,
        eval: after,
        damp: METHODS[o.method].needsGradients ? damp : undefined,
        skipped: skip || undefined,
        seconds: (performance.now() - t) / 1000,
      };
      records.push(record);
      emit({ type: 'pruningStep', record, steps: steps.length });
    };

    const report = (finished: boolean): GradualReport => {
      const last = records[records.length - 1];
      const finalLayers = layerTable(m, m.prunable, o.layers, last?.layers ?? []);
      const pruned = finalLayers.reduce((a, r) => a + r.pruned, 0),
        weights = finalLayers.reduce((a, r) => a + r.weights, 0);
      const { outDir, modelPath, resume: _r, ...settings } = o;
      return {
        version: 1,
        model: path.resolve(modelPath),
        output: path.resolve(outDir),
        settings: { ...settings, labels: o.sampleLabels ? 'sampled' : 'given' },
        backend,
        linalg,
        ...notes,
        sparsity: { target: o.sparsity, achieved: weights ? pruned / weights : 0, pruned, weights },
        layers: finalLayers,
        before,
        after: epochs[epochs.length - 1]?.eval,
        seconds: { ...seconds, total: (performance.now() - t0) / 1000 + (saved?.seconds.total ?? 0) },
        memory,
        steps: records.length,
        damp: typeof o.damp === 'number' ? o.damp : damps[damps.length - 1],
        gradual: { schedule, epochs, steps: records, finished },
      };
    };

    // a cancel inside a pruning step or an evaluation says what the run keeps, as one between batches does
    const keepsCheckpoint = (e: unknown): never => {
      if (e instanceof WoodFisherError && e.code === 'CANCELLED') checkAbort(signal, out.dir, checkpoints ? epochs.length : 0);
      throw e;
    };
    const perm = new Int32Array(data.count);
    for (let e = saved?.epoch ?? 0; e < E; e++) {
      const tE = performance.now();
      perm.set(sampleIndices(data.count, data.count, streamRandom(o.seed, BATCH_ORDER, e)));
      let loss = 0,
        correct = 0,
        lr = o.lr;
      for (let b = 0; b < B; b++) {
        checkAbort(signal, out.dir, checkpoints ? epochs.length : 0);
        while (next < steps.length && steps[next].iteration <= iteration) await pruneAt(steps[next++]).catch(keepsCheckpoint);
        const idx = perm.subarray(b * o.batchSize, Math.min(data.count, (b + 1) * o.batchSize));
        lr = learningRate(o.lrSchedule, o.lr, iteration, T);
        const r = await timed('train', () =>
          trainStep(
            m,
            opt!,
            data.rows(idx),
            data.rowShape,
            Int32Array.from(idx, i => data.labels[i]),
            lr,
          ),
        );
        loss += r.loss;
        correct += r.correct;
        iteration++;
        emit({ type: 'stage', stage: 'train', done: b + 1, total: B, step: e + 1, steps: E, message: `epoch ${e + 1}/${E}` });
        await new Promise<void>(res => setImmediate(res)); // lets a cancel (signal) through
      }
      const ev = evalData ? await timed('evaluate', () => evaluate(m, evalData, { signal })).catch(keepsCheckpoint) : undefined;
      const sp = sparsityNow();
      const record: EpochRecord = {
        epoch: e + 1,
        lr,
        train: { loss: loss / data.count, accuracy: correct / data.count },
        eval: ev,
        sparsity: sp.overall,
        layers: sp.per,
        seconds: (performance.now() - tE) / 1000,
      };
      epochs.push(record);
      emit({ type: 'epoch', record, epochs: E });
      if (checkpoints && e + 1 < E) {
        emit({ type: 'stage', stage: 'save', done: 0, total: 1, message: `checkpoint after epoch ${e + 1}` });
        const state: CheckpointState = {
          epoch: e + 1,
          iteration,
          settings: { ...checkpointSettings(o), before } as Partial<GradualOptions>,
          epochs,
          steps: records,
          seconds: { ...seconds, total: (performance.now() - t0) / 1000 + (saved?.seconds.total ?? 0) },
          optimizer: opt.state(),
          masks: masks(),
        };
        await timed('save', () =>
          writeRunFolder(m, out, { ...encodeCheckpoint(state), 'report.json': JSON.stringify(report(false), null, 2) + '\n' }),
        );
        emit({ type: 'checkpoint', epoch: e + 1, path: out.dir });
      }
    }

    emit({ type: 'stage', stage: 'save', done: 0, total: 1 });
    checkAbort(signal, out.dir, checkpoints ? epochs.length : 0);
    // The weights as they will be written (the input's encodings, or quantize): the model holds them from here on, so
    // the final accuracy is the written model's — measured again only where the encoding changed a value.
    const { encoded, quantization, size } = await timed('save', () => outputForRun(m, o));
    const lastEval = epochs[epochs.length - 1]?.eval;
    const written =
      evalData && encoded.weights.some(w => w.maxError > 0)
        ? await timed('evaluate', () => runEval(m, evalData, 'after', hooks)).catch(keepsCheckpoint)
        : lastEval;
    const final: GradualReport = { ...report(true), after: written, size, quantization };
    checkAbort(signal, out.dir, checkpoints ? epochs.length : 0);
    const modelPath = await timed('save', () => writeRunFolder(m, out, { 'report.json': JSON.stringify(final, null, 2) + '\n' }, encoded));
    final.seconds = { ...final.seconds, save: seconds.save, total: (performance.now() - t0) / 1000 + (saved?.seconds.total ?? 0) };
    emit({ type: 'stage', stage: 'save', done: 1, total: 1 });
    emit({ type: 'gradualDone', report: final, reportPath: path.join(path.dirname(modelPath), 'report.json'), modelPath });
    return final;
  } finally {
    train?.close();
    opt?.dispose();
    m.model.dispose();
  }
}

/** The checkpoint's weights into the input model (whose folder stays the one outputs must never replace). */
async function loadCheckpointWeights(m: LoadedModel, outDir: string): Promise<void> {
  const c = await loadModel(path.join(outDir, 'model.json'));
  try {
    const from = c.model.weights,
      to = m.model.weights;
    if (from.length !== to.length || from.some((w, i) => w.shape.join() !== to[i].shape.join())) {
      throw new WoodFisherError(
        `the checkpoint in ${outDir} is not a checkpoint of ${m.path} (its weights differ in number or shape)`,
        'OPTIONS',
      );
    }
    m.model.setWeights(from.map(w => w.read()));
  } finally {
    c.model.dispose();
  }
}

function checkAbort(signal: AbortSignal | undefined, outDir: string, epochsDone: number): void {
  if (!signal?.aborted) return;
  throw new WoodFisherError(
    epochsDone > 0
      ? `gradual pruning was cancelled; the checkpoint after epoch ${epochsDone} is in ${outDir} (continue with --resume)`
      : 'gradual pruning was cancelled before the first epoch ended; nothing was written',
    'CANCELLED',
  );
}

async function runEval(m: LoadedModel, d: Dataset, which: 'before' | 'after', hooks: GradualHooks): Promise<EvalResult> {
  const result = await evaluate(m, d, { signal: hooks.signal });
  hooks.onEvent?.({ type: 'eval', which, result });
  return result;
}

/** The final per-layer table: the last step's saliency statistics, counts from the final weights. */
function layerTable(m: LoadedModel, prunable: PrunableLayer[], overrides: GradualOptions['layers'], last: LayerResult[]): LayerResult[] {
  return prunable.map(l => {
    const w = readKernel(m, l);
    let pruned = 0;
    for (const v of w) if (v === 0) pruned++;
    const r = last.find(x => x.name === l.name);
    const base: LayerResult = r ?? {
      name: l.name,
      kind: l.kind,
      weights: l.size,
      pruned: 0,
      sparsity: 0,
      threshold: NaN,
      saliency: { min: NaN, median: NaN, max: NaN },
      blocks: 0,
      form: 'none',
    };
    return { ...base, pruned, sparsity: pruned / l.size, excluded: overrides[l.name]?.exclude || undefined };
  });
}

/** The one-shot plan of a pruning step, plus what fine-tuning holds: optimizer slots, masks, batches, data in memory. */
function gradualMemoryPlan(
  m: LoadedModel,
  o: GradualOptions,
  trainBytes: number, // trainingStepBytes: TF.js's peak in one training step
  layers: PrunableLayer[],
  nCal: number,
  data: TrainingData,
  evalData: Dataset | undefined,
  trainable: number,
  limit: number,
  runtime: number,
): MemoryPlan {
  const row = data.rowShape.reduce((a, b) => a * b, 1);
  const slots = o.optimizer === 'adam' ? 2 : 1;
  const batch = Math.min(o.batchSize, data.count);
  const pass = needsGradients(o.method) ? gradientPassBytes(m, layers, nCal) : undefined;
  // training and a pruning step's gradient pass take turns in TF.js's one heap (wasm memory grows, never shrinks): the
  // larger of the two is what it holds, so training counts only what it needs beyond the pass (the plan counts the pass)
  const step = pass === undefined ? trainBytes : Math.max(0, trainBytes - pass);
  const held = [
    { what: `optimizer state (${o.optimizer}: ${slots} × ${trainable} float32) and masks`, bytes: trainable * 4 * (slots + 1) },
    { what: `calibration samples of a step (${nCal} × ${row} float32)`, bytes: nCal * row * 4 },
    {
      what: `one training step (${batch} samples: inputs, activations and gradients on the TF.js heap${pass === undefined ? '' : ', beyond what the gradient pass holds there'})`,
      bytes: step,
    },
    { what: 'training labels', bytes: data.count * 4 },
    ...(data.residentBytes
      ? [{ what: 'training inputs (decompressed from the .npz; a .npy is read batch by batch)', bytes: data.residentBytes }]
      : []),
    ...(evalData ? [{ what: 'evaluation data', bytes: evalData.x.byteLength }] : []),
  ];
  // each pruning step is pruneStep: its gradients streamed by layer group when N × d do not fit beside the training state
  return planMemory({
    layers,
    samples: nCal,
    blockSize: o.blockSize,
    method: o.method,
    inverseForm: o.inverseForm,
    limitBytes: limit,
    threads: blockThreads(
      o.threads,
      layers.reduce((a, l) => a + blockRanges(l.size, o.blockSize).length, 0),
    ), // the block threads the step will run (as the one-shot plan counts them)
    gradientPassBytes: pass,
    stream: o.damp !== 'auto', // a λ search holds every layer's gradients at once
    heldBytes: held,
    runtimeBytes: runtime,
  });
}
