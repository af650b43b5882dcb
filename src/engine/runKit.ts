// What every one-shot run shares (weights and units alike): its inputs, its stage clock, the machine it ran on.
import * as os from 'node:os';
import { tfjsNodeMissing, tfjsNodeNotice } from './backend';
import { linalgNotice } from './linalg/fastest';
import { loadModel, type LoadedModel } from './model/load';
import { checkLayerOverrides } from './model/overrides';
import { loadDataset, type Dataset } from './data/calibration';
import { inputFileSize } from './files';
import { METHODS, needsGradients } from './methods';
import type { LabelsSource, Timed } from './step';
import type { PruneEvent, PruneOptions, PruneReport, Stage } from './types';

/** Inputs are regular files (no FIFO, folder or device): checked before the output is claimed or anything is read. */
export function checkInputFiles(o: PruneOptions): void {
  inputFileSize(o.modelPath, 'Model file', 'MODEL_FORMAT');
  if (o.dataPath && needsGradients(o.method)) inputFileSize(o.dataPath, 'Data file');
  if (o.labelsPath && needsGradients(o.method)) inputFileSize(o.labelsPath, 'Labels file', 'LABELS');
  if (o.evalPath) inputFileSize(o.evalPath, 'Evaluation data');
  if (o.evalLabelsPath) inputFileSize(o.evalLabelsPath, 'Evaluation labels', 'LABELS');
}

/** The model, the calibration set (for methods that need gradients) and the evaluation set, each bounded by --max-memory. */
export async function loadInputs(options: PruneOptions): Promise<{ model: LoadedModel; data?: Dataset; evalData?: Dataset }> {
  const model = await loadModel(options.modelPath);
  checkLayerOverrides(options.layers, model);
  const data = needsGradients(options.method)
    ? await loadDataset(model, options.dataPath, options.labelsPath, {
        samples: options.samples,
        shuffle: options.shuffle,
        seed: options.seed,
        maxBytes: options.maxMemoryBytes,
      })
    : undefined;
  const evalData = options.evalPath
    ? await loadDataset(model, options.evalPath, options.evalLabelsPath, { maxBytes: options.maxMemoryBytes })
    : undefined;
  return { model, data, evalData };
}

/** Seconds per stage for the report: `timed(stage, f)` adds f's time to its stage; `total()` since the clock started. */
export function stageClock(): { timed: Timed; seconds: Partial<Record<Stage, number>>; total: () => number } {
  const t0 = performance.now();
  const seconds: Partial<Record<Stage, number>> = {};
  const timed: Timed = async (stage, f) => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      seconds[stage] = (seconds[stage] ?? 0) + (performance.now() - t) / 1000;
    }
  };
  return { timed, seconds, total: () => (performance.now() - t0) / 1000 };
}

const warned = new Set<string>();
/** A warning about the machine, not the run (e.g. no native products): once per process, however many runs (demo, sweep). */
export function warnOnce(message: string, emit: (e: PruneEvent) => void): void {
  if (warned.has(message)) return;
  warned.add(message);
  emit({ type: 'log', level: 'warn', message });
}

/** What a run tells its user about the runtimes it used when a faster one did not load: TF.js fell back from tfjs-node
 *  (backend.ts), or the Fisher products (when `usesProducts`) from the fastest provider this platform ships: OpenBLAS to
 *  onnxruntime-node, or either to plain JS (linalg/fastest.ts).
 *  Logged once per process (the CLI prints it, the panel's log lists it) and kept in every report (backendNote,
 *  linalgNote; the panel shows them under its backend line). */
export function runtimeNotes(
  backend: string,
  usesProducts: boolean,
  emit: (e: PruneEvent) => void,
): Pick<PruneReport, 'backendNote' | 'linalgNote'> {
  const tfjs = tfjsNodeMissing(backend);
  const linalg = usesProducts ? linalgNotice() : undefined;
  const notes = {
    ...(tfjs ? { backendNote: tfjsNodeNotice(backend, tfjs) } : {}),
    ...(linalg ? { linalgNote: linalg } : {}),
  };
  for (const message of Object.values(notes)) warnOnce(message, emit);
  return notes;
}

/** The machine a run used, for the report and the panel (under Remote-SSH/WSL/containers: the remote host). */
export function hostSummary(): string {
  return `${os.hostname()} (${process.platform}-${process.arch}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB)`;
}

/** The settings that played a part in the run: a magnitude run lists no data or Fisher settings, diagfisher no block
 *  settings, the cap only under global selection, the schedule only with recompute > 1, the scope actually used. */
export function usedSettings(o: PruneOptions, labels: LabelsSource | undefined): PruneReport['settings'] {
  const m = METHODS[o.method],
    scope = m.scope ?? o.scope;
  const { outDir: _o, modelPath: _m, layers, ...rest } = o;
  const s: PruneReport['settings'] = { ...rest, scope, layers };
  const drop = (...keys: (keyof PruneOptions)[]) => {
    for (const k of keys) delete (s as Partial<PruneOptions>)[k];
  };
  if (!m.needsGradients) drop('dataPath', 'labelsPath', 'sampleLabels', 'samples', 'damp', 'shuffle', 'seed');
  else s.labels = labels;
  if (!m.needsInverse) drop('blockSize', 'update', 'inverseForm', 'threads', 'maxMemoryBytes');
  if (o.recompute <= 1) drop('recomputeSchedule');
  if (scope !== 'global' || o.pattern) drop('maxLayerSparsity');
  if (o.structure !== 'neurons') drop('structure', 'targetFlops', 'minKeep');
  if (!o.evalPath) drop('evalPath', 'evalLabelsPath');
  return s;
}
