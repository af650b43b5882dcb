// woodfisher gradual <model.json | recipe> --train … --sparsity S --epochs E --out dir
import { Command, InvalidArgumentError, Option } from 'commander';
import { recipeToGradualOptions } from '../../engine/recipe';
import { checkRecipeLayers, readRunSources } from '../resolve';
import { loadGradualModule } from '../engine';
import type { GradualEvent, GradualOptions } from '../../engine/types';
import { METHOD_NAMES, WoodFisherError } from '../../engine/types';
import { withAbort } from '../abort';
import { UsageError } from '../errors';
import {
  flagsToOverrides,
  parsePath,
  parseDamp,
  parseFraction as parseCap,
  parseLayerCaps,
  parseNonNegativeInt,
  parsePositiveInt,
  parsePositive,
  parseSize,
  MAX_MEMORY_HELP,
  parseSparsity,
} from '../flags';
import { createProgress, progressMode } from '../progress';
import { gradualProgress, gradualSummary } from '../gradualSummary';

export function parseEpochs(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0) || !Number.isFinite(n))
    throw new InvalidArgumentError('expected a number of epochs ≥ 0 (fractions allowed, e.g. 0.5)');
  return n;
}
export function parseFraction(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number in [0, 1), e.g. 0.9');
  return n;
}
const parseNonNegative = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number ≥ 0, e.g. 1e-4');
  return n;
};

export interface GradualFlags {
  train?: string;
  trainLabels?: string;
  sparsity?: number;
  pattern?: string;
  epochs?: number;
  method?: GradualOptions['method'];
  samples?: number;
  blockSize?: number;
  damp?: number | 'auto';
  scope?: GradualOptions['scope'];
  update?: GradualOptions['update'];
  inverseForm?: GradualOptions['inverseForm'];
  recompute?: number;
  sampleLabels?: boolean;
  pruneStart?: number;
  pruneEnd?: number;
  pruneEvery?: number;
  initialSparsity?: number;
  optimizer?: GradualOptions['optimizer'];
  lr?: number;
  lrSchedule?: GradualOptions['lrSchedule'];
  batchSize?: number;
  momentum?: number;
  weightDecay?: number;
  seed?: number;
  eval?: string;
  evalLabels?: string;
  backend?: GradualOptions['backend'];
  threads?: number;
  maxMemory?: number;
  out?: string;
  resume?: boolean;
  recipe?: string;
  json?: boolean;
  quantize?: GradualOptions['quantize'];
  maxLayerSparsity?: number;
  layerCap?: Record<string, number>;
}

/** The training and schedule flags (gradual, and sweep --gradual); with oneShot also the pruning-step flags. */
export function addGradualOptions(cmd: Command, { oneShot }: { oneShot: boolean }): Command {
  cmd
    .option(
      '--train <path>',
      'training data: x.npy (read batch by batch) or data.npz holding x and y; calibration samples of each pruning step are drawn from it',
      parsePath,
    )
    .option('--train-labels <path>', 'training labels y.npy (class indices or one-hot)', parsePath)
    .option('--epochs <E>', 'training epochs in all (pruning steps and the final fine-tuning)', parsePositiveInt)
    .option('--prune-start <epoch>', 'epoch of the first pruning step, fractions allowed (default: 0)', parseEpochs)
    .option('--prune-end <epoch>', 'epoch of the last pruning step, before the last epoch ends (default: epochs/2)', parseEpochs)
    .option('--prune-every <epochs>', 'epochs between pruning steps (default: four steps from start to end)', parseEpochs)
    .option(
      '--initial-sparsity <s>',
      's_i: target of the first pruning step; s_k = s_f + (s_i − s_f)(1 − k/K)³ (default: 0)',
      parseFraction,
    )
    .addOption(new Option('--optimizer <o>', 'sgd (with momentum) or adam (AdamW) (default: sgd)').choices(['sgd', 'adam']))
    .option('--lr <eta>', 'initial learning rate (default: 0.1; about 1e-3 with adam)', parsePositive)
    .addOption(new Option('--lr-schedule <s>', 'learning rate over the run (default: cosine)').choices(['cosine', 'step', 'constant']))
    .option('--batch-size <n>', 'training mini-batch (default: 64)', parsePositiveInt)
    .option('--momentum <mu>', 'SGD momentum (default: 0.9)', parseFraction)
    .option('--weight-decay <w>', 'weight decay (default: 0)', parseNonNegative);
  if (!oneShot) return cmd;
  return cmd
    .option('--sparsity <s>', 'final fraction of prunable weights set to zero, in [0, 1)', parseSparsity)
    .option('--pattern <N:M>', 'semi-structured sparsity at every step (e.g. 2:4); sets the sparsity')
    .addOption(new Option('--method <m>', 'saliency of each pruning step (default: woodfisher)').choices(METHOD_NAMES))
    .option('--samples <n>', 'N: calibration samples (per-sample gradients) per pruning step (default: 256)', parsePositiveInt)
    .option('--block-size <b>', 'B: weights per Fisher block (default: 1000)', parsePositiveInt)
    .option('--damp <lambda>', 'λ: dampening of the Fisher (default: 1e-5)', parseDamp)
    .addOption(
      new Option('--scope <scope>', 'one global threshold, or the target in every layer (default: global)').choices(['global', 'layer']),
    )
    .option(
      '--max-layer-sparsity <f>',
      'global selection prunes at most this fraction of any one layer, in (0, 1] (default: 0.99; 1: no cap)',
      parseCap,
    )
    .option('--layer-cap <name=f,…>', 'that cap for named layers only, e.g. dense_2=1 (lifts it for dense_2)', parseLayerCaps)
    .addOption(
      new Option('--update <kind>', 'OBS weight update at each step (default: independent)').choices(['independent', 'joint', 'none']),
    )
    .addOption(
      new Option('--inverse-form <f>', 'Fisher-inverse form per block (default: auto)').choices(['auto', 'primal', 'dual', 'recursive']),
    )
    .option('--recompute <k>', 'sub-steps per pruning step, gradients and inverses re-estimated each time (default: 1)', parsePositiveInt)
    .option(
      '--sample-labels',
      'each step\'s gradients at labels sampled from the model\'s softmax (the "true" Fisher); the training labels still train',
    )
    .option('--seed <n>', 'random seed: batch order, calibration draws (default: 0)', parseNonNegativeInt)
    .option('--recipe <file>', 'recipe (YAML or JSON); flags override its values')
    .option('--eval <path>', 'evaluation inputs (x.npy or data.npz): accuracy after every epoch and pruning step', parsePath)
    .option('--eval-labels <path>', 'evaluation labels y.npy', parsePath)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: auto)').choices(['auto', 'tensorflow', 'wasm', 'cpu']))
    .option('--threads <n>', 'worker threads for the Fisher blocks', parsePositiveInt)
    .option('--max-memory <size>', MAX_MEMORY_HELP, parseSize)
    .addOption(
      new Option(
        '--quantize <enc>',
        "encoding of the final model's weights: keep (as in the input), none (float32), float16, uint16, uint8 (affine, 0 exact); checkpoints stay float32 (default: keep)",
      ).choices(['keep', 'none', 'float16', 'uint16', 'uint8']),
    )
    .option('--out <dir>', 'new folder for the checkpoints and the final model', parsePath)
    .option('--resume', 'continue from the checkpoint in --out')
    .option('--json', 'print the report as JSON on stdout, no progress');
}

export function gradualCommand(): Command {
  const cmd = new Command('gradual')
    .description(
      'prune gradually with fine-tuning: prune a little at a time on the cubic schedule, training in between; a checkpoint after every epoch',
    )
    .argument('[target]', 'model.json, or a recipe (.yaml/.yml/*.prune.json) with a gradual: section');
  addGradualOptions(cmd, { oneShot: true }).addHelpText(
    'after',
    '\nExamples:\n  woodfisher gradual examples/mlpnet/model.json --train examples/data/train.npz --sparsity 0.95 --epochs 12 --out mlpnet-95 \\\n      --eval examples/data/test-x.npy --eval-labels examples/data/test-y.npy\n  woodfisher gradual mlpnet-95.prune.yaml --resume',
  );
  return cmd.action(async (target: string | undefined, flags: GradualFlags) => {
    const options = await resolveGradual(target, flags);
    const { runGradual } = await loadGradualModule();
    const mode = progressMode(flags.json);
    const progress = createProgress(mode);
    const onEvent = gradualEvents(mode, progress);
    let report;
    try {
      report = await withAbort(signal => runGradual(options, { signal, onEvent }));
    } finally {
      progress.stop();
    }
    process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : gradualSummary(report) + '\n');
  });
}

/** Gradual events → progress: its own lines for epochs and steps, the stage bar/lines for the rest. */
export function gradualEvents(
  mode: ReturnType<typeof progressMode>,
  progress: ReturnType<typeof createProgress>,
): (e: GradualEvent) => void {
  const lines = gradualProgress(mode === 'quiet' ? undefined : (s: string) => progress.note(s));
  return e => {
    lines(e);
    if (
      e.type === 'stage' ||
      e.type === 'log' ||
      e.type === 'plan' ||
      e.type === 'eval' ||
      e.type === 'layer' ||
      e.type === 'damp' ||
      e.type === 'done'
    )
      progress.onEvent(e);
  };
}

export async function resolveGradual(target: string | undefined, f: GradualFlags): Promise<GradualOptions> {
  const sources = await readRunSources(target, f.recipe);
  let options: GradualOptions;
  try {
    options = recipeToGradualOptions(sources.parsed?.recipe ?? {}, sources.recipeDir, {
      ...flagsToOverrides({ ...f, data: f.train, labels: f.trainLabels }), // the one-shot options every pruning step uses
      modelPath: sources.modelPath,
      epochs: f.epochs,
      pruneStart: f.pruneStart,
      pruneEnd: f.pruneEnd,
      pruneEvery: f.pruneEvery,
      initialSparsity: f.initialSparsity,
      optimizer: f.optimizer,
      lr: f.lr,
      lrSchedule: f.lrSchedule,
      batchSize: f.batchSize,
      momentum: f.momentum,
      weightDecay: f.weightDecay,
      resume: f.resume,
    });
  } catch (e) {
    if (e instanceof WoodFisherError && e.code === 'OPTIONS')
      throw new UsageError(e.message.replace('--data x.npy|data.npz', '--train x.npy|data.npz'));
    throw e;
  }
  await checkRecipeLayers(sources, options);
  return options;
}
