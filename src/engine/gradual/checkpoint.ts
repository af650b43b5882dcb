// The checkpoint a gradual run leaves in its output folder after every epoch: the model itself (model.json +
// shards, loadable as is), checkpoint.json (schedule position, history, settings) and optimizer.bin (optimizer
// slots and masks, float32). The final output replaces it with the finished model and report.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WoodFisherError, type EpochRecord, type GradualOptions, type PruningStepRecord } from '../types';
import type { OptimizerState } from './optimizer';

export const CHECKPOINT_FILE = 'checkpoint.json';
export const OPTIMIZER_FILE = 'optimizer.bin';
const KIND = 'woodfisher-gradual-checkpoint';

/** Settings that must match for --resume to continue the same run (paths and the output folder may move). */
export const RESUME_KEYS = [
  'sparsity',
  'method',
  'samples',
  'blockSize',
  'damp',
  'scope',
  'update',
  'pattern',
  'epochs',
  'initialSparsity',
  'pruneStart',
  'pruneEnd',
  'pruneEvery',
  'optimizer',
  'lr',
  'lrSchedule',
  'batchSize',
  'momentum',
  'weightDecay',
  'seed',
  'recompute',
  'quantize',
  'sampleLabels',
] as const satisfies readonly (keyof GradualOptions)[];

export interface CheckpointState {
  epoch: number; // epochs completed
  iteration: number; // optimizer steps completed
  settings: Partial<GradualOptions>;
  epochs: EpochRecord[];
  steps: PruningStepRecord[];
  seconds: Record<string, number>;
  optimizer: OptimizerState;
  masks: { layer: string; keep: Float32Array }[];
}

interface SlotEntry {
  variable: string;
  slot: string;
  shape: number[];
  offset: number;
  length: number;
}

/** checkpoint.json text and optimizer.bin bytes of a state. */
export function encodeCheckpoint(s: CheckpointState): Record<string, string | Uint8Array> {
  const arrays = [...s.optimizer.slots.map(x => x.values), ...s.masks.map(x => x.keep)];
  const total = arrays.reduce((a, x) => a + x.length, 0);
  const bin = new Float32Array(total);
  let at = 0;
  const place = (v: Float32Array) => {
    bin.set(v, at);
    at += v.length;
    return { offset: at - v.length, length: v.length };
  };
  const slots: SlotEntry[] = s.optimizer.slots.map(x => ({ variable: x.variable, slot: x.slot, shape: x.shape, ...place(x.values) }));
  const masks = s.masks.map(x => ({ layer: x.layer, ...place(x.keep) }));
  const json = {
    kind: KIND,
    version: 1,
    epoch: s.epoch,
    iteration: s.iteration,
    settings: s.settings,
    epochs: s.epochs,
    steps: s.steps,
    seconds: s.seconds,
    optimizer: { kind: s.optimizer.kind, step: s.optimizer.step, slots },
    masks,
  };
  return { [CHECKPOINT_FILE]: JSON.stringify(json, null, 1) + '\n', [OPTIMIZER_FILE]: new Uint8Array(bin.buffer) };
}

export function hasCheckpoint(outDir: string): boolean {
  return fs.existsSync(path.join(outDir, CHECKPOINT_FILE));
}

/** Reads and checks a checkpoint (every offset inside optimizer.bin, every count sane). */
export function readCheckpoint(outDir: string): CheckpointState {
  const file = path.join(outDir, CHECKPOINT_FILE);
  const bad = (why: string) =>
    new WoodFisherError(`${file} is not a usable checkpoint (${why}); start a new run in a new folder`, 'OUTPUT', { file });
  if (!fs.existsSync(file))
    throw new WoodFisherError(`nothing to resume: ${outDir} holds no checkpoint (${CHECKPOINT_FILE})`, 'OPTIONS', { path: outDir });
  if (fs.statSync(file).size > 64 * 2 ** 20) throw bad('too large');
  let j: any;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
  if (j?.kind !== KIND || j.version !== 1) throw bad('unknown kind or version');
  const binFile = path.join(outDir, OPTIMIZER_FILE);
  if (!fs.existsSync(binFile)) throw bad(`${OPTIMIZER_FILE} is missing`);
  const raw = fs.readFileSync(binFile);
  if (raw.length % 4 !== 0) throw bad(`${OPTIMIZER_FILE} has ${raw.length} bytes, not a whole number of floats`);
  const bin = new Float32Array(new Uint8Array(raw).buffer);
  const take = (e: { offset: number; length: number }) => {
    if (!(
      Number.isInteger(e?.offset) &&
      Number.isInteger(e?.length) &&
      e.offset >= 0 &&
      e.length >= 0 &&
      e.offset + e.length <= bin.length
    ))
      throw bad('an entry points outside optimizer.bin');
    return bin.slice(e.offset, e.offset + e.length);
  };
  const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (
    !isCount(j.epoch) ||
    !isCount(j.iteration) ||
    !Array.isArray(j.epochs) ||
    !Array.isArray(j.steps) ||
    !Array.isArray(j.masks) ||
    !Array.isArray(j.optimizer?.slots) ||
    !isCount(j.optimizer?.step)
  )
    throw bad('missing fields');
  return {
    epoch: j.epoch,
    iteration: j.iteration,
    settings: j.settings ?? {},
    epochs: j.epochs,
    steps: j.steps,
    seconds: j.seconds ?? {},
    optimizer: {
      kind: j.optimizer.kind,
      step: j.optimizer.step,
      slots: j.optimizer.slots.map((s: SlotEntry) => ({ variable: s.variable, slot: s.slot, shape: s.shape, values: take(s) })),
    },
    masks: j.masks.map((m: { layer: string; offset: number; length: number }) => ({ layer: String(m.layer), keep: take(m) })),
  };
}

/** The first setting in which this run differs from the checkpoint's, as a sentence; undefined when they agree. */
export function resumeMismatch(saved: Partial<GradualOptions>, now: GradualOptions): string | undefined {
  for (const k of RESUME_KEYS) {
    const a = JSON.stringify(saved[k] ?? null),
      b = JSON.stringify(now[k] ?? null);
    if (a !== b) return `the checkpoint was made with ${k} = ${a}, this run asks for ${b}`;
  }
  const layers = (o: Partial<GradualOptions>) => JSON.stringify(o.layers ?? {});
  if (layers(saved) !== layers(now)) return 'the checkpoint was made with other layer overrides';
  return undefined;
}

/** The settings a checkpoint records (for resumeMismatch). */
export function checkpointSettings(o: GradualOptions): Partial<GradualOptions> {
  const out: Record<string, unknown> = {};
  for (const k of RESUME_KEYS) out[k] = o[k];
  out.layers = o.layers;
  return out as Partial<GradualOptions>;
}
