// One-shot pruning (optionally split into K recomputation sub-steps): the pipeline every front door calls.
//   load → [λ search] → K × step (gradients → Fisher blocks → selection → OBS update, step.ts) → evaluate → save
import * as path from 'node:path';
import { initBackend } from './backend';
import { useFastestGemm } from './linalg/fastest';
import { loadModel, readKernel, saveModel, type LoadedModel } from './model/load';
import { claimOutput, type OutputClaim } from './output/claim';
import { evaluateStage, predictProbabilities } from './gradients/evaluate';
import { gradientPassBytes, onnxPassUnavailable } from './gradients/perSample';
import { blockThreads } from './fisher/blockPool';
import { blockRanges } from './fisher/blocks';
import { parsePattern, patternSparsity } from './obs/select';
import { planMemory, assertPlanFits, runtimeBytes } from './memory';
import { needsGradients } from './methods';
import { chooseDamp, type DampChoice } from './damp';
import { checkAbort, pruneStep, targetAt, type LabelsSource } from './step';
import { checkInputFiles, hostSummary, loadInputs, runtimeNotes, stageClock, usedSettings } from './runKit';
import { layerResult } from './layerStats';
import { QUANTIZE_MODES } from './model/encode';
import { outputForRun } from './model/quantize';
import { chooseTargetSize, type TargetSizeChoice } from './targetSize';
import { formatBytes } from './report/bytes';
import { runStructuredPrune, structuredPlan, unitLayers } from './structured/prune';
import {
  LayerResult,
  MemoryPlan,
  PrunableLayer,
  PruneOptions,
  PruneReport,
  RunHooks,
  WoodFisherError,
  DEFAULT_OPTIONS,
  PRUNABLE_KINDS,
} from './types';

export { stepSparsity } from './step';
export { DAMP_SEARCH } from './damp';

export function validateOptions(o: PruneOptions): void {
  const bad = (msg: string) => new WoodFisherError(msg, 'OPTIONS');
  if (!(o.sparsity >= 0 && o.sparsity < 1)) throw bad(`sparsity must be in [0, 1), got ${o.sparsity}`);
  if (!Number.isInteger(o.samples) || o.samples < 1) throw bad(`samples must be a positive integer, got ${o.samples}`);
  if (!Number.isInteger(o.blockSize) || o.blockSize < 1) throw bad(`block size must be a positive integer, got ${o.blockSize}`);
  if (o.damp !== 'auto' && (!(o.damp > 0) || !Number.isFinite(o.damp)))
    throw bad(`damp (λ) must be a positive number or 'auto', got ${o.damp}`);
  if (!Number.isInteger(o.recompute) || o.recompute < 1) throw bad(`recompute must be a positive integer, got ${o.recompute}`);
  if (o.pattern) {
    const implied = patternSparsity(parsePattern(o.pattern));
    if (o.recompute > 1) throw bad(`an N:M pattern is reached in one step; drop recompute (${o.recompute})`);
    if (Math.abs(o.sparsity - implied) > 1e-9)
      throw bad(`pattern ${o.pattern} means sparsity ${implied}, but sparsity ${o.sparsity} was asked; give one of them`);
  }
  const modes = `one of ${QUANTIZE_MODES.join(', ')}`;
  if (o.quantize !== undefined && !QUANTIZE_MODES.includes(o.quantize)) throw bad(`quantize must be ${modes}, got ${o.quantize}`);
  if (o.targetSize !== undefined && !(o.targetSize > 0 && Number.isFinite(o.targetSize)))
    throw bad(`target size must be a positive number of bytes, got ${o.targetSize}`);
  const cap = (v: number | undefined) => v === undefined || (v > 0 && v <= 1);
  if (!cap(o.maxLayerSparsity)) throw bad(`maxLayerSparsity must be in (0, 1], got ${o.maxLayerSparsity}`);
  for (const [name, ov] of Object.entries(o.layers ?? {})) {
    if (ov.sparsity !== undefined && !(ov.sparsity >= 0 && ov.sparsity < 1)) {
      throw bad(`layer ${name}: sparsity must be in [0, 1), got ${ov.sparsity}`);
    }
    if (ov.quantize !== undefined && !QUANTIZE_MODES.includes(ov.quantize))
      throw bad(`layer ${name}: quantize must be ${modes}, got ${ov.quantize}`);
    if (!cap(ov.maxSparsity)) throw bad(`layer ${name}: maxSparsity must be in (0, 1], got ${ov.maxSparsity}`);
  }
  checkInputFiles(o);
}

export interface InspectResult {
  layers: PrunableLayer[];
  layerNames: string[];
  memory: MemoryPlan;
  totalWeights: number;
  format: string;
  backend: string;
  /** Where the per-sample gradient pass will run (methods with gradients): 'onnxruntime', or TF.js and why not. */
  gradientPass?: string;
  /** structure 'neurons': the layers whose units are scored (what the memory plan covers) */
  structure?: { layers: string[] };
}

/** Where perSampleGradients will run the model's pass by default (as GradientSet.pass words it, before the run). */
function gradientPassWhere(m: LoadedModel): string {
  let why: string | undefined;
  try {
    why = onnxPassUnavailable(m, m.prunable);
  } catch (e) {
    if (!(e instanceof WoodFisherError && e.code === 'UNSUPPORTED_LAYER')) throw e;
    return `TF.js, one sample at a time (${e.message})`;
  }
  return why ? `TF.js (not onnxruntime: ${why})` : 'onnxruntime';
}

/** Layers, prunable weights and the memory plan for the given settings (structure 'neurons': the structured run's), without data. */
export async function inspectModel(modelPath: string, options: Partial<PruneOptions> = {}): Promise<InspectResult> {
  const o = { ...DEFAULT_OPTIONS, ...options };
  const backend = await initBackend(o.backend);
  const runtime = runtimeBytes();
  const m = await loadModel(modelPath);
  try {
    const inputFloats = (m.model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * (b ?? 1), 1);
    const dataBytes = needsGradients(o.method) ? 4 * o.samples * inputFloats : 0;
    const units = o.structure === 'neurons' ? unitLayers(m, o.layers).layers.map(s => s.layer) : undefined;
    const memory = units
      ? structuredPlan(m, units, o, o.samples, dataBytes, runtime)
      : planMemory({
          layers: m.prunable,
          samples: o.samples,
          blockSize: o.blockSize,
          method: o.method,
          inverseForm: o.inverseForm,
          limitBytes: o.maxMemoryBytes,
          threads: blockThreads(o.threads, countBlocks(m.prunable, o.blockSize)),
          gradientPassBytes: needsGradients(o.method) ? gradientPassBytes(m, m.prunable, o.samples) : undefined,
          dataBytes,
          stream: true,
          runtimeBytes: runtime,
        });
    return {
      layers: m.prunable,
      layerNames: m.model.layers.map(l => l.name),
      memory,
      totalWeights: m.prunable.reduce((a, l) => a + l.size, 0),
      format: m.json.format ?? 'layers-model (no format key)',
      backend,
      ...(needsGradients(o.method) ? { gradientPass: gradientPassWhere(m) } : {}),
      ...(units ? { structure: { layers: units.map(l => l.name) } } : {}),
    };
  } finally {
    m.model.dispose();
  }
}

/** Runs the whole one-shot pruning and writes the pruned model and report.json to options.outDir. */
export async function runPrune(given: PruneOptions, hooks: RunHooks = {}): Promise<PruneReport> {
  if (given.structure === 'neurons') return runStructuredPrune(given, hooks); // whole units, the model shrinks
  const options: PruneOptions = { ...DEFAULT_OPTIONS, ...given, layers: given.layers ?? {} };
  const emit = hooks.onEvent ?? (() => {});
  validateOptions(options);
  // The output is checked and locked before any work (src/engine/output/claim.ts).
  const out = hooks.output ?? claimOutput(options.outDir, { kind: 'prune', inputFolder: path.dirname(options.modelPath) });
  try {
    for (const message of out.notes) emit({ type: 'log', level: 'warn', message });
    return await pruneInto(options, out, hooks, stageClock());
  } finally {
    if (!hooks.output) out.release();
  }
}

async function pruneInto(
  options: PruneOptions,
  out: OutputClaim,
  hooks: RunHooks,
  clock: ReturnType<typeof stageClock>,
): Promise<PruneReport> {
  const { timed, seconds } = clock;
  const emit = hooks.onEvent ?? (() => {});
  emit({ type: 'stage', stage: 'load', done: 0, total: 1 });
  const backend = await initBackend(options.backend);
  const runtime = runtimeBytes(); // before the model and data, and before onnxruntime's thread starts (see memory.ts)
  const linalg = useFastestGemm();
  const { model, data, evalData } = await timed('load', () => loadInputs(options));
  try {
    const n = data?.count ?? 0;
    const layers = model.prunable.filter(l => !options.layers[l.name]?.exclude);
    if (layers.length === 0) {
      throw new WoodFisherError(
        model.prunable.length === 0
          ? `${path.basename(options.modelPath)} has no prunable layer (${PRUNABLE_KINDS.join(', ')}); nothing to prune`
          : `every prunable layer of ${path.basename(options.modelPath)} is excluded; nothing to prune`,
        'OPTIONS',
      );
    }
    const memory = planMemory({
      layers,
      samples: n,
      blockSize: options.blockSize,
      method: options.method,
      inverseForm: options.inverseForm,
      limitBytes: options.maxMemoryBytes,
      threads: blockThreads(options.threads, countBlocks(layers, options.blockSize)),
      gradientPassBytes: n > 0 ? gradientPassBytes(model, layers, n) : undefined,
      dataBytes: (data?.x.byteLength ?? 0) + (evalData?.x.byteLength ?? 0),
      stream: true,
      runtimeBytes: runtime,
    });
    emit({ type: 'plan', layers: model.prunable, memory, backend });
    assertPlanFits(memory);
    if (memory.gradients === 'streamed') {
      // both hold every layer's gradients at once for their search
      const holdsAll = options.damp === 'auto' ? `--damp auto` : options.targetSize !== undefined ? '--target-size' : undefined;
      if (holdsAll)
        throw new WoodFisherError(
          `${holdsAll} holds all ${n} × ${layers.reduce((a, l) => a + l.size, 0)} gradients at once, ` +
            `which do not fit under the limit of ${formatBytes(memory.limitBytes)} (the run itself would stream them by layer group): ` +
            `give ${holdsAll === '--damp auto' ? 'a fixed --damp' : 'a --sparsity'}, lower --samples, or raise --max-memory`,
          'MEMORY',
        );
    }
    if (memory.gradients === 'streamed' || memory.strategy === 'rebuild')
      emit({ type: 'log', level: 'info', message: `memory plan: ${memory.why}` });
    emit({ type: 'stage', stage: 'load', done: 1, total: 1 });
    const notes = runtimeNotes(backend, needsGradients(options.method), emit);
    if (n > 0 && n < options.samples) {
      emit({ type: 'log', level: 'warn', message: `calibration data has ${n} samples; using all of them (asked for ${options.samples})` });
    }

    // unlabeled evaluation data: the pruned model is judged against the dense one's predictions (agreement, KL)
    const dense =
      evalData && !evalData.labels ? await timed('evaluate', () => predictProbabilities(model, evalData, hooks.signal)) : undefined;
    const before = evalData ? await timed('evaluate', () => evaluateStage(model, evalData, 'before', hooks, dense)) : undefined;

    // The "true" Fisher: gradients at labels drawn from the model's own softmax (labels, if given, still judge λ).
    const gradData = data && options.sampleLabels ? { ...data, labels: undefined } : data;
    let labelsSource: LabelsSource = gradData?.labels ? 'given' : 'sampled';
    let gradientPass: string | undefined;
    // --target-size: sparsity and encoding chosen first (at the given λ; with 'auto' at the default), then the run as usual
    let fit: TargetSizeChoice | undefined;
    if (options.targetSize !== undefined) {
      fit = await chooseTargetSize({
        model,
        layers,
        data: gradData,
        judge: data,
        options,
        damp: options.damp === 'auto' ? (DEFAULT_OPTIONS.damp as number) : options.damp,
        inverses: memory.strategy,
        hooks,
        timed,
      });
      options.sparsity = fit.sparsity;
      options.quantize = fit.quantize;
      emit({
        type: 'log',
        level: 'info',
        message: `target ${formatBytes(options.targetSize)} gzip: ${fit.quantize === 'none' ? 'float32' : fit.quantize} at ${(fit.sparsity * 100).toFixed(1)}% sparsity has the least calibration loss of the encodings that fit`,
      });
    }
    let search: DampChoice | undefined;
    if (options.damp === 'auto' && data && needsGradients(options.method)) {
      search = await chooseDamp({ model, layers, data: gradData!, judge: data, options, inverses: memory.strategy, hooks, timed });
    }
    const damp = options.damp !== 'auto' ? options.damp : (search?.damp ?? 1e-5); // magnitude methods: λ plays no part
    let results: LayerResult[] = [];
    const K = options.recompute;
    for (let k = 1; k <= K; k++) {
      const step = await pruneStep({
        model,
        layers,
        data: gradData,
        options,
        target: targetAt(options, k, K),
        damp,
        inverses: memory.strategy,
        groups: memory.groups,
        gradients: k === 1 ? (search?.grads ?? fit?.grads) : undefined,
        step: { k, of: K },
        hooks,
        timed,
      });
      results = step.results;
      if (step.labelsSource) labelsSource = step.labelsSource;
      gradientPass ??= step.gradientPass;
    }
    // Excluded layers appear in the report, untouched.
    for (const l of model.prunable.filter(l => options.layers[l.name]?.exclude)) {
      const r = layerResult(l, readKernel(model, l), new Float64Array(l.size), NaN, { excluded: true, blocks: 0, form: 'none' });
      results.push(r);
      emit({ type: 'layer', result: r, step: K });
    }
    const order = (name: string) => model.prunable.findIndex(l => l.name === name);
    results.sort((a, b) => order(a.name) - order(b.name));

    // The weights as they will be written (their encodings, zeros exact): what --eval measures and saveModel writes.
    const { encoded, quantization, size } = await timed('save', () => outputForRun(model, options));
    if (options.targetSize !== undefined && size.output.gzip > options.targetSize) {
      emit({
        type: 'log',
        level: 'warn',
        message: `the written model is ${formatBytes(size.output.gzip)} gzip, over the target ${formatBytes(options.targetSize)} (the search measured one step; recompute or λ 'auto' changed the weights)`,
      });
    }
    const after = evalData ? await timed('evaluate', () => evaluateStage(model, evalData, 'after', hooks, dense)) : undefined;

    const weights = results.reduce((a, r) => a + r.weights, 0);
    const pruned = results.reduce((a, r) => a + r.pruned, 0);
    const report: PruneReport = {
      version: 1,
      model: path.resolve(options.modelPath),
      output: path.resolve(options.outDir),
      settings: usedSettings(options, labelsSource),
      backend,
      ...(gradientPass ? { gradientPass } : {}),
      linalg,
      host: hostSummary(),
      ...notes,
      sparsity: { target: options.sparsity, achieved: weights ? pruned / weights : 0, pruned, weights },
      layers: results,
      before,
      after,
      seconds: { ...seconds, total: 0 },
      memory,
      steps: K,
      damp,
      dampSearch: search?.table,
      size,
      quantization,
      targetSize: fit?.report,
    };
    emit({ type: 'stage', stage: 'save', done: 0, total: 1 });
    checkAbort(hooks.signal);
    const savedModel = await timed('save', async () => {
      report.seconds = { ...seconds, total: clock.total() };
      return saveModel(model, out, { 'report.json': JSON.stringify(report, null, 2) + '\n' }, encoded);
    });
    report.seconds = { ...seconds, total: clock.total() };
    emit({ type: 'stage', stage: 'save', done: 1, total: 1 });
    const reportPath = path.join(path.dirname(savedModel), 'report.json');
    emit({ type: 'done', report, reportPath, modelPath: savedModel });
    return report;
  } finally {
    model.model.dispose();
  }
}

const countBlocks = (layers: PrunableLayer[], blockSize: number) => layers.reduce((a, l) => a + blockRanges(l.size, blockSize).length, 0);
