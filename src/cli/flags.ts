// Command-line flags shared by prune and sweep, and their conversion to PruneOptions.
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DAMP_EXPECTED, parseDampText } from '../engine/dampText';
import { parseBytes } from '../engine/report/bytes';
import type { Method, PruneOptions, QuantizeMode } from '../engine/types';
import { BACKEND_NAMES, INVERSE_FORMS, METHOD_NAMES, RECOMPUTE_SCHEDULES, SCOPES, UPDATE_KINDS, WoodFisherError } from '../engine/types';

/** A path flag: an empty one would silently mean the current folder. */
/** --max-memory's help, in every command that plans memory. */
export const MAX_MEMORY_HELP = 'memory limit of the whole run, runtime included, e.g. 4GB (default: the runtime plus half the free RAM)';

export function parsePath(v: string): string {
  if (v.trim() === '') throw new InvalidArgumentError('a path cannot be empty (an empty --out would mean the current folder)');
  return v;
}

export function parseSparsity(v: string): number {
  const s = Number(v);
  if (v.trim() === '' || !(s >= 0 && s < 1)) throw new InvalidArgumentError('expected a fraction in [0, 1), e.g. 0.9');
  return s;
}
export function parseFraction(v: string): number {
  const s = Number(v);
  if (v.trim() === '' || !(s > 0 && s <= 1)) throw new InvalidArgumentError('expected a fraction in (0, 1], e.g. 0.5');
  return s;
}
/** "dense_2=1,conv1=0.999" → { dense_2: 1, conv1: 0.999 }. */
export function parseLayerCaps(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)) {
    const m = /^(.+?)=(.+)$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected name=fraction, e.g. dense_2=1 (got "${part}")`);
    out[m[1].trim()] = parseFraction(m[2]);
  }
  if (!Object.keys(out).length) throw new InvalidArgumentError('expected name=fraction, e.g. dense_2=1');
  return out;
}
export function parseUnitInterval(v: string): number {
  const s = Number(v);
  if (v.trim() === '' || !(s >= 0 && s <= 1)) throw new InvalidArgumentError('expected a fraction in [0, 1], e.g. 0.1');
  return s;
}
export function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
export function parseNonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}
export function parsePositive(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number, e.g. 1e-5');
  return n;
}
export function parseDamp(v: string): number | 'auto' {
  try {
    return parseDampText(v);
  } catch {
    throw new InvalidArgumentError(DAMP_EXPECTED);
  }
}
export function parseSize(v: string): number {
  try {
    return parseBytes(v);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof WoodFisherError ? 'expected bytes or a size like 4GB, 512MB, 2GiB' : String(e));
  }
}
export function parseTargetSize(v: string): number {
  try {
    return parseBytes(v, 'target size');
  } catch {
    throw new InvalidArgumentError('expected gzip bytes or a size like 1.5MB, 800KB, 2MiB');
  }
}
export function parseSparsityList(v: string): number[] {
  const parts = v
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('expected a comma-separated list like 0.5,0.8,0.9');
  return parts.map(p => {
    try {
      return parseSparsity(p);
    } catch {
      throw new InvalidArgumentError(`"${p}" is not a fraction in [0, 1)`);
    }
  });
}
export function parseMethodList(v: string): Method[] {
  const parts = v
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  const bad = parts.find(p => !METHOD_NAMES.includes(p as Method));
  if (bad !== undefined || parts.length === 0) {
    throw new InvalidArgumentError(
      `${bad === undefined ? 'no method given' : `unknown method "${bad}"`}; choose from ${METHOD_NAMES.join(', ')}`,
    );
  }
  return parts as Method[];
}

/** Flags of prune and sweep (commander's camel-cased option values). */
export interface RunFlags {
  data?: string;
  labels?: string;
  sampleLabels?: boolean;
  sparsity?: number;
  pattern?: string;
  method?: Method;
  samples?: number;
  blockSize?: number;
  damp?: number | 'auto';
  scope?: PruneOptions['scope'];
  update?: PruneOptions['update'];
  recompute?: number;
  recomputeSchedule?: PruneOptions['recomputeSchedule'];
  inverseForm?: PruneOptions['inverseForm'];
  recipe?: string;
  eval?: string;
  evalLabels?: string;
  backend?: PruneOptions['backend'];
  maxMemory?: number;
  shuffle?: boolean;
  seed?: number;
  out?: string;
  json?: boolean;
  threads?: number;
  quantize?: QuantizeMode;
  targetSize?: number;
  structure?: PruneOptions['structure'];
  targetFlops?: number;
  minKeep?: number;
  maxLayerSparsity?: number;
  layerCap?: Record<string, number>;
}

/** Adds the options every pruning command understands. */
export function addRunOptions(cmd: Command, { sparsity = true, method = true } = {}): Command {
  cmd
    .option('--data <path>', 'calibration inputs: x.npy, or data.npz holding x (and y)', parsePath)
    .option('--labels <path>', 'calibration labels y.npy (class indices or one-hot); none: sampled from the model', parsePath)
    .option('--sample-labels', 'sample the gradients\' labels from the model\'s softmax even when labels are given (the "true" Fisher)');
  if (sparsity) {
    cmd.option('--sparsity <s>', 'target fraction of prunable weights set to zero, in [0, 1)', parseSparsity);
    cmd.option(
      '--target-flops <f>',
      'with --structure neurons: remove units until FLOPs ≤ this fraction of the original (replaces --sparsity)',
      parseFraction,
    );
    cmd.option(
      '--pattern <N:M>',
      'semi-structured sparsity: at most N non-zeros in every M consecutive weights (e.g. 2:4); sets the sparsity',
    );
    cmd.option(
      '--target-size <bytes>',
      'download budget in gzip bytes of model.json + shards (e.g. 1.5MB): chooses the sparsity (and the encoding, unless --quantize) with the least calibration loss',
      parseTargetSize,
    );
  }
  cmd.addOption(
    new Option(
      '--quantize <enc>',
      'encoding of the written weights: keep (as in the input), none (float32), float16, uint16, uint8 (affine, 0 exact) (default: keep)',
    ).choices(['keep', 'none', 'float16', 'uint16', 'uint8']),
  );
  cmd.addOption(
    new Option(
      '--structure <s>',
      'weights: zero single weights; neurons: remove whole units (Dense neurons, conv filters) and shrink the model, sparsity = fraction of units removed (default: weights)',
    ).choices(['weights', 'neurons']),
  );
  cmd.option(
    '--min-keep <f>',
    'with --structure neurons: every layer keeps at least this fraction of its units (default: 0.1)',
    parseUnitInterval,
  );
  if (method) cmd.addOption(new Option('--method <m>', 'saliency method (default: woodfisher)').choices(METHOD_NAMES));
  cmd
    .option('--samples <n>', 'N: per-sample gradients for the Fisher (default: 256)', parsePositiveInt)
    .option('--block-size <b>', 'B: weights per Fisher block (default: 1000)', parsePositiveInt)
    .option('--damp <lambda>', 'λ: dampening of the Fisher, or "auto" to choose it from the data (default: 1e-5)', parseDamp)
    .addOption(new Option('--scope <scope>', 'one global threshold, or the target in every layer (default: global)').choices(SCOPES))
    .option(
      '--max-layer-sparsity <f>',
      'global selection prunes at most this fraction of any one layer, in (0, 1] (default: 0.99; 1: no cap)',
      parseFraction,
    )
    .option('--layer-cap <name=f,…>', 'that cap for named layers only, e.g. dense_2=1 (lifts it for dense_2)', parseLayerCaps)
    .addOption(new Option('--update <kind>', 'OBS weight update (default: independent)').choices(UPDATE_KINDS))
    .option('--recompute <k>', 'sub-steps with gradients and inverses re-estimated (default: 1)', parsePositiveInt)
    .addOption(
      new Option('--recompute-schedule <s>', 'sparsity schedule over the sub-steps (default: linear)').choices(RECOMPUTE_SCHEDULES),
    )
    .addOption(new Option('--inverse-form <f>', 'Fisher-inverse form per block (default: auto)').choices(INVERSE_FORMS))
    .option('--recipe <file>', 'recipe (YAML or JSON); flags override its values', parsePath)
    .option('--eval <path>', 'evaluation inputs (x.npy or data.npz) for accuracy before/after', parsePath)
    .option('--eval-labels <path>', 'evaluation labels y.npy', parsePath)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: auto)').choices(BACKEND_NAMES))
    .option('--threads <n>', "worker threads for the Fisher blocks (default: the machine's cores, at most 8)", parsePositiveInt)
    .option('--max-memory <size>', MAX_MEMORY_HELP, parseSize)
    .option('--shuffle', 'draw calibration samples at random (with --seed)')
    .option('--seed <n>', 'random seed (default: 0)', parseNonNegativeInt)
    .option('--out <dir>', 'new folder for the output', parsePath)
    .option('--json', 'print the result as JSON on stdout, no progress');
  return cmd;
}

const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(p));

/** Flags → overrides for recipeToOptions (paths resolved against the working directory). */
export function flagsToOverrides(f: RunFlags): Partial<PruneOptions> {
  return {
    dataPath: abs(f.data),
    labelsPath: abs(f.labels),
    sampleLabels: f.sampleLabels,
    sparsity: f.sparsity,
    pattern: f.pattern,
    method: f.method,
    samples: f.samples,
    blockSize: f.blockSize,
    damp: f.damp,
    scope: f.scope,
    update: f.update,
    recompute: f.recompute,
    recomputeSchedule: f.recomputeSchedule,
    inverseForm: f.inverseForm,
    evalPath: abs(f.eval),
    evalLabelsPath: abs(f.evalLabels),
    backend: f.backend,
    maxMemoryBytes: f.maxMemory,
    shuffle: f.shuffle,
    seed: f.seed,
    outDir: abs(f.out),
    threads: f.threads,
    quantize: f.quantize,
    targetSize: f.targetSize,
    structure: f.structure,
    targetFlops: f.targetFlops,
    minKeep: f.minKeep,
    maxLayerSparsity: f.maxLayerSparsity,
    layers: f.layerCap && Object.fromEntries(Object.entries(f.layerCap).map(([name, maxSparsity]) => [name, { maxSparsity }])),
  };
}

/** A positional argument that is a recipe rather than a model.json. */
export function isRecipePath(p: string): boolean {
  return /\.(ya?ml)$/i.test(p) || /\.prune\.json$/i.test(p);
}
