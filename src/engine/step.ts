// One pruning step at the current weights, as the paper runs it — one named function per stage over one context:
//   gradients g_n → Fisher blocks (saliency ρ, inverses F⁻¹ kept) → selection (lowest ρ) → OBS update δw
// runPrune calls it once per recomputation sub-step; gradual pruning calls it at every pruning epoch; structured
// pruning passes its own block ranges (whole rows), `blocks`, `select` and `update`, and streams by layer group the same way.
import { readKernel, writeKernel, type LoadedModel } from './model/load';
import type { Dataset } from './data/calibration';
import { perSampleGradients, type GradientSet } from './gradients/perSample';
import { blockRunner, forEachBounded, type BlockRunner } from './fisher/blockPool';
import { blockRanges, type BlockRange } from './fisher/blocks';
import { selectMasks, selectNM, parsePattern } from './obs/select';
import { obsUpdate } from './obs/update';
import { METHODS, type MethodStrategy } from './methods';
import { layerResult } from './layerStats';
import { RowArena } from './linalg/rowArena';
import {
  LayerResult,
  PrunableLayer,
  PruneEvent,
  PruneOptions,
  RecomputeSchedule,
  RunHooks,
  Stage,
  UpdateKind,
  WoodFisherError,
} from './types';

export type Timed = <T>(stage: Stage, f: () => Promise<T> | T) => Promise<T>;
export type LabelsSource = 'given' | 'sampled';

/** Where a step prunes to: the overall sparsity and each overridden layer's own sparsity at this step. */
export interface StepTarget {
  sparsity: number;
  layers: Record<string, number>;
}

/** Target sparsity after sub-step k of K: linear s·k/K, or the cubic schedule s − s(1 − k/K)³ (Zhu & Gupta). */
export function stepSparsity(s: number, k: number, K: number, schedule: RecomputeSchedule): number {
  return schedule === 'polynomial' ? s - s * (1 - k / K) ** 3 : (s * k) / K;
}

/** The target of sub-step k of K: the schedule applied to the overall sparsity and to every per-layer sparsity. */
export function targetAt(options: PruneOptions, k: number, K: number): StepTarget {
  const layers: Record<string, number> = {};
  for (const [name, override] of Object.entries(options.layers ?? {})) {
    if (override.sparsity !== undefined) layers[name] = stepSparsity(override.sparsity, k, K, options.recomputeSchedule);
  }
  return { sparsity: stepSparsity(options.sparsity, k, K, options.recomputeSchedule), layers };
}

export interface StepInput {
  model: LoadedModel;
  layers: PrunableLayer[]; // the layers this step prunes (excluded layers left out)
  data?: Dataset; // calibration set, for methods that need gradients
  options: PruneOptions; // method, blockSize, inverseForm, scope, update, pattern, seed, threads
  target: StepTarget;
  damp: number; // λ in F = λI + (1/N) Σ g gᵀ ('auto' is resolved before: damp.ts)
  inverses?: 'keep' | 'rebuild'; // the memory plan's strategy: keep each F⁻¹ block until its update, or rebuild it
  groups?: string[][]; // the memory plan's streamed gradients: layer groups, one at a time (default: all at once)
  gradients?: GradientSet; // gradients already computed at these weights (damp 'auto' computed them)
  // sub-step k of K (default 1 of 1), for progress events and the gradient seed; label: its name in progress events
  step?: { k: number; of: number; label?: string };
  hooks?: RunHooks;
  timed?: Timed; // adds each stage's time to the run's report
  ranges?: (layer: PrunableLayer) => BlockRange[]; // a layer's Fisher blocks (default: blockRanges of options.blockSize)
  /** Saliencies of one group's layers from its gradients (ctx.grads, released after it), kept inverses where the plan
   *  keeps them. Default: fisherBlocks (every block an independent job, on worker threads). */
  blocks?: (ctx: StepContext, group: number[]) => Promise<void>;
  select?: (ctx: StepContext) => Promise<Selection>; // default: selectWeights
  update?: (ctx: StepContext, selection: Selection) => Promise<LayerResult[]>; // default: updateWeights
}

export interface StepResult {
  results: LayerResult[];
  labelsSource?: LabelsSource;
  gradientPass?: string;
}

/** One layer's state through the step. */
export interface LayerWork {
  layer: PrunableLayer;
  w: Float64Array; // current kernel, PyTorch order
  ranges: BlockRange[]; // its Fisher blocks
  saliency: Float64Array; // ρ_q, the loss increase of setting w_q to 0
  invGrad?: Float64Array; // WoodTaylor: F⁻¹∇L over the whole layer (block by block)
  form: string; // inverse form(s) of its blocks (LayerResult.form)
}

/** A Fisher block: block `id` of the step is range `range` of layer `layer` (index into StepContext.layers). */
export interface BlockRef {
  id: number;
  layer: number;
  range: BlockRange;
}

/** One job of the block runner: `blocks` consecutive blocks of size b of one layer, covering `range`. */
export interface JobRef extends BlockRef {
  blocks: number;
  b: number;
}

/** Blocks in one job for batches of `batch` blocks: an eighth of a batch. */
export const jobBlocks = (batch: number) => Math.max(1, Math.floor(batch / 8));

/** The runner's jobs: each layer's blocks in runs of up to an eighth of a batch (a layer's shorter last block alone),
 *  so many small blocks cost a job, a message and a promise per run, and a batch still holds several jobs. */
export function jobRefs(ctx: StepContext): JobRef[] {
  const most = jobBlocks(ctx.runner?.batch ?? 1);
  const out: JobRef[] = [];
  ctx.layers.forEach((work, layer) => {
    const full = work.ranges.filter(r => r.end - r.start === work.ranges[0].end - work.ranges[0].start);
    for (let i = 0; i < work.ranges.length;) {
      const k = i < full.length ? Math.min(most, full.length - i) : 1;
      const first = work.ranges[i],
        last = work.ranges[i + k - 1];
      out.push({ id: out.length, layer, range: { start: first.start, end: last.end }, blocks: k, b: first.end - first.start });
      i += k;
    }
  });
  return out;
}

/** Masks (1 = pruned) and the largest pruned saliency, per layer. */
export interface Selection {
  masks: Uint8Array[];
  thresholds: number[];
}

export interface StepContext {
  readonly model: LoadedModel;
  readonly options: PruneOptions;
  readonly method: MethodStrategy;
  readonly target: StepTarget;
  readonly damp: number;
  readonly inverses: 'keep' | 'rebuild';
  readonly step: { k: number; of: number; label?: string };
  readonly data?: Dataset;
  readonly n: number; // N, the samples behind each gradient matrix
  readonly layers: LayerWork[];
  readonly blocks: BlockRef[];
  readonly groups: number[][]; // indices into layers: whose gradients are held at once (one group: all)
  readonly emit: (e: PruneEvent) => void;
  readonly signal?: AbortSignal;
  readonly timed: Timed;
  grads?: Map<string, Float32Array>; // N × d per layer (of the current group); released after its blocks are built
  labelsSource?: LabelsSource;
  gradientPass?: string; // where the gradient pass ran (GradientSet.pass)
  labels?: Int32Array; // the labels the first gradient pass used (sampled ones too): later groups reuse them
  arena?: RowArena; // streamed: N × d_g floats of the largest group, every group's rows in turn
  rebuildFrom?: Map<string, Float32Array>; // gradients kept for the update only when inverses are rebuilt
  runner?: BlockRunner; // where the Fisher blocks are built and updated
  jobs?: JobRef[]; // the runner's jobs (jobRefs), made once per step
}

/** One step: gradients → Fisher blocks → selection → OBS update; the model's kernels hold the result. */
export async function pruneStep(input: StepInput): Promise<StepResult> {
  const ctx = stepContext(input);
  ctx.runner =
    ctx.method.needsInverse && !input.blocks
      ? blockRunner(ctx.options.threads, ctx.blocks.length, { n: ctx.n, b: ctx.options.blockSize, form: ctx.options.inverseForm })
      : undefined;
  try {
    for (const group of ctx.groups) {
      await gradients(ctx, group, input.gradients);
      await (input.blocks ?? fisherBlocks)(ctx, group);
      releaseGradients(ctx);
    }
    const selection = await (input.select ?? selectWeights)(ctx);
    const results = await (input.update ?? updateWeights)(ctx, selection);
    return { results, labelsSource: ctx.labelsSource, gradientPass: ctx.gradientPass };
  } finally {
    await ctx.runner?.close();
  }
}

export function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new WoodFisherError('pruning was cancelled', 'CANCELLED');
}

/** The step's context: the current kernels (finite, or a clear error) and their block ranges. */
function stepContext(input: StepInput): StepContext {
  const { model, options } = input;
  const layers: LayerWork[] = input.layers.map(layer => {
    const w = readKernel(model, layer);
    if (w.some(v => !Number.isFinite(v))) throw new WoodFisherError(`layer ${layer.name} has NaN or infinite weights`, 'MODEL_NAN');
    return {
      layer,
      w,
      ranges: input.ranges?.(layer) ?? blockRanges(layer.size, options.blockSize),
      saliency: new Float64Array(0),
      form: 'none',
    };
  });
  const hooks = input.hooks ?? {};
  const all = layers.map((_, i) => i);
  const named = (g: string[]) => g.map(name => layers.findIndex(work => work.layer.name === name)).filter(i => i >= 0);
  const groups = input.groups && !input.gradients ? input.groups.map(named).filter(g => g.length > 0) : [all];
  if (new Set(groups.flat()).size !== layers.length || groups.flat().length !== layers.length)
    throw new WoodFisherError('the gradient groups do not cover the layers once each', 'OPTIONS');
  return {
    groups,
    model,
    options,
    method: METHODS[options.method],
    target: input.target,
    damp: input.damp,
    inverses: input.inverses ?? 'keep',
    step: input.step ?? { k: 1, of: 1 },
    data: input.data,
    n: input.data?.count ?? 0,
    layers,
    blocks: layers.flatMap((work, index) => work.ranges.map(range => ({ layer: index, range }))).map((b, id) => ({ id, ...b })),
    emit: hooks.onEvent ?? (() => {}),
    signal: hooks.signal,
    timed: input.timed ?? (async (_stage, f) => f()),
  };
}

/** Per-sample loss gradients g_n (N × d per layer) of one layer group at the current weights, pruned weights masked
 *  (as the reference code). A group that is not every layer runs the whole pass, keeps its rows only and stops the
 *  backward pass below it; later groups reuse the first pass's labels (sampled ones too), so every number is the same. */
async function gradients(ctx: StepContext, group: number[], given?: GradientSet): Promise<void> {
  if (given) {
    ctx.grads = given.grads;
    ctx.labelsSource = given.labelsSource;
  } else if (ctx.method.needsGradients && ctx.data) {
    ctx.grads = undefined;
    const g = await groupGradients(ctx, group);
    ctx.grads = g.grads;
    ctx.labelsSource ??= g.labelsSource;
    ctx.labels ??= g.labels;
    if (ctx.gradientPass === undefined) ctx.emit({ type: 'log', level: 'info', message: `gradient pass: ${g.pass}` });
    ctx.gradientPass = g.pass;
  }
}

/** One gradient pass for the group's layers (all layers: the ordinary pass). */
async function groupGradients(ctx: StepContext, group: number[]): Promise<GradientSet> {
  const { k, of, label } = ctx.step;
  const streamed = group.length < ctx.layers.length;
  const gi = ctx.groups.indexOf(group);
  const masks = new Map(group.map(i => ctx.layers[i]).map(work => [work.layer.name, Uint8Array.from(work.w, v => (v === 0 ? 1 : 0))]));
  const data = ctx.labels ? { ...ctx.data!, labels: ctx.labels } : ctx.data!;
  if (streamed) ctx.arena ??= new RowArena();
  const grouped = `layer group ${gi + 1} of ${ctx.groups.length} (${group.length} layer${group.length > 1 ? 's' : ''})`;
  const message = streamed ? (label ? `${label}, ${grouped}` : grouped) : label;
  return ctx.timed('gradients', () =>
    perSampleGradients(
      ctx.model,
      ctx.layers.map(work => work.layer),
      data,
      {
        seed: ctx.options.seed + k,
        masks,
        signal: ctx.signal,
        only: streamed ? new Set(group.map(i => ctx.layers[i].layer.name)) : undefined,
        into: streamed ? ctx.arena : undefined,
        onProgress: (done, total) => ctx.emit({ type: 'stage', stage: 'gradients', done, total, step: k, steps: of, message }),
      },
    ),
  );
}

/** Jobs to keep in flight: the runner's capacity in blocks, as jobs of these sizes. */
function inFlight(runner: BlockRunner, jobs: JobRef[]): number {
  const most = Math.max(1, ...jobs.map(j => j.blocks));
  return Math.max(1, Math.ceil(runner.capacity / most));
}

/**
 * Saliency ρ of every weight: from the layer alone (magnitude, diagonal Fisher), or per Fisher block from its inverse
 * (ρ_q = w_q²/(2[F⁻¹]_qq), WoodTaylor's with ∇L), every block an independent job on every core (fisher/blockPool.ts).
 * Inverses stay with the runner for the update when the memory plan keeps them.
 */
async function fisherBlocks(ctx: StepContext, group: number[]): Promise<void> {
  const { method, runner, layers, n, damp } = ctx;
  const { k, of } = ctx.step;
  const inGroup = new Set(group);
  await ctx.timed('blocks', async () => {
    for (const work of group.map(i => layers[i])) {
      if (method.layerSaliency) {
        work.saliency = method.layerSaliency(work.w, ctx.grads?.get(work.layer.name), n, damp);
        work.form = method.form;
      } else {
        work.saliency = new Float64Array(work.layer.size);
        if (method.taylor) work.invGrad = new Float64Array(work.layer.size);
      }
    }
    if (!runner) return;
    const built = layers.map(() => 0),
      forms = layers.map(() => new Map<string, number>());
    ctx.jobs ??= jobRefs(ctx);
    const jobs = ctx.jobs.filter(j => inGroup.has(j.layer));
    const total = jobs.reduce((t, j) => t + j.blocks, 0);
    let builtAll = 0;
    await forEachBounded(
      jobs,
      inFlight(runner, jobs),
      async ({ id, layer, range, blocks, b }) => {
        const work = layers[layer];
        const res = await runner.build({
          op: 'build',
          id,
          G: { rows: ctx.grads!.get(work.layer.name)!, n, d: work.layer.size, ...range }, // gathered with its batch
          n,
          b,
          blocks,
          damp,
          form: ctx.options.inverseForm,
          w: work.w.slice(range.start, range.end),
          taylor: method.taylor,
          keep: ctx.inverses === 'keep',
        });
        work.saliency.set(res.saliency, range.start);
        if (res.invGrad) work.invGrad!.set(res.invGrad, range.start);
        forms[layer].set(res.form, (forms[layer].get(res.form) ?? 0) + blocks);
        ctx.emit({
          type: 'stage',
          stage: 'blocks',
          done: (built[layer] += blocks),
          total: work.ranges.length,
          layer: work.layer.name,
          step: k,
          steps: of,
          overall: { done: (builtAll += blocks), total },
        });
      },
      () => checkAbort(ctx.signal),
    );
    for (const i of group)
      layers[i].form = [...forms[i]]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([f]) => f)
        .join('+'); // most used first (ties by name: blocks finish in any order)
  });
  for (const work of group.map(i => layers[i])) {
    if (work.saliency.some(v => Number.isNaN(v))) {
      throw new WoodFisherError(
        `saliency of layer ${work.layer.name} is NaN: the Fisher blocks are ill-conditioned; raise --damp`,
        'NUMERIC',
      );
    }
  }
}

/** After a group's blocks: the update needs its gradients again only to rebuild blocks that were not kept (the memory
 *  plan counts them once). */
function releaseGradients(ctx: StepContext): void {
  if (!ctx.grads) ctx.labelsSource = undefined;
  ctx.rebuildFrom = ctx.inverses === 'rebuild' && updateKind(ctx) !== 'none' ? ctx.grads : undefined;
  ctx.grads = undefined;
}

/**
 * The update's layer groups, each with the gradients its rebuilt blocks need (undefined when the inverses were kept):
 * all layers at once, or — streamed and rebuilt — group by group, the last group's gradients (still held) first, the
 * others computed again (the same numbers: same weights, batches and labels).
 */
export async function forEachUpdateGroup(
  ctx: StepContext,
  f: (group: number[], rebuildFrom?: Map<string, Float32Array>) => Promise<void>,
): Promise<void> {
  const { layers } = ctx;
  const groups = ctx.rebuildFrom ? [...ctx.groups].reverse() : [layers.map((_, i) => i)];
  for (const group of groups) {
    if (ctx.rebuildFrom && !group.every(i => ctx.rebuildFrom!.has(layers[i].layer.name))) {
      ctx.rebuildFrom = undefined;
      ctx.rebuildFrom = (await groupGradients(ctx, group)).grads;
    }
    await f(group, ctx.rebuildFrom);
  }
  ctx.rebuildFrom = undefined;
}

/** The update the step applies: the options' kind where the method has inverses, none otherwise. */
function updateKind(ctx: StepContext): UpdateKind {
  return ctx.method.needsInverse ? ctx.options.update : 'none';
}

/** Lowest saliencies to the step's target: globally or per layer (selectMasks), or N per M consecutive weights (selectNM). */
export async function selectWeights(ctx: StepContext): Promise<Selection> {
  const { options, layers, target } = ctx;
  const { k, of } = ctx.step;
  ctx.emit({ type: 'stage', stage: 'selection', done: 0, total: 1, step: k, steps: of });
  const selection = await ctx.timed('selection', () => {
    if (!options.pattern) {
      const s = selectMasks(
        layers.map(work => ({
          name: work.layer.name,
          saliency: work.saliency,
          weights: work.w,
          sparsity: target.layers[work.layer.name],
          maxSparsity: layerCap(options, work.layer.name),
        })),
        target.sparsity,
        ctx.method.scope ?? options.scope,
      );
      if (k === of) warnCollapse(ctx, s.masks);
      return s;
    }
    const nm = selectNM(
      layers.map(work => ({
        name: work.layer.name,
        saliency: work.saliency,
        weights: work.w,
        rowLength: work.layer.size / work.layer.torchShape[0],
      })),
      parsePattern(options.pattern),
    );
    for (const name of nm.skipped) {
      ctx.emit({
        type: 'log',
        level: 'warn',
        message: `layer ${name} stays dense: its rows are not a multiple of the pattern's group (${options.pattern})`,
      });
    }
    return nm;
  });
  ctx.emit({ type: 'stage', stage: 'selection', done: 1, total: 1, step: k, steps: of });
  return selection;
}

/** The most of one layer that global selection may prune: its own maxSparsity, else the run's (default 0.99). */
export function layerCap(options: PruneOptions, name: string): number {
  return options.layers[name]?.maxSparsity ?? options.maxLayerSparsity ?? 0.99;
}

/** Layers held at their cap (global selection wanted more of them), and layers that end above it (their own target,
 *  or zeros they already had): the first stay alive, the second may be cut off (layer collapse). */
function warnCollapse(ctx: StepContext, masks: Uint8Array[]): void {
  const scope = ctx.method.scope ?? ctx.options.scope;
  const held: { name: string; cap: number }[] = [];
  ctx.layers.forEach((work, i) => {
    const name = work.layer.name,
      d = work.layer.size,
      cap = layerCap(ctx.options, name);
    let pruned = 0;
    for (const v of masks[i]) pruned += v;
    if (pruned > Math.round(cap * d)) {
      ctx.emit({
        type: 'log',
        level: 'warn',
        message:
          `layer ${name} ends ${capPct(pruned / d)} pruned, above the per-layer cap of ${capPct(cap)}: ` +
          `it may no longer pass a signal (layer collapse); check its accuracy`,
      });
    } else if (scope === 'global' && cap < 1 && ctx.target.layers[name] === undefined && pruned === Math.round(cap * d) && pruned > 0) {
      held.push({ name, cap });
    }
  });
  for (const message of heldAtCapMessages(held)) ctx.emit({ type: 'log', level: 'warn', message });
}

const capPct = (x: number) => `${(100 * x).toFixed(x > 0.99 && x < 1 ? 2 : 1)}%`;
const LISTED = 6; // layer names one warning spells out; the report has every layer's sparsity

/** One warning per cap for the layers global selection held at it (a dozen layers of a MobileNetV2 at 70% used to
 *  print a dozen lines). */
export function heldAtCapMessages(held: { name: string; cap: number }[]): string[] {
  const byCap = new Map<number, string[]>();
  for (const { name, cap } of held) byCap.set(cap, [...(byCap.get(cap) ?? []), name]);
  return [...byCap].map(([cap, names]) => {
    if (names.length === 1)
      return (
        `layer ${names[0]} held at its cap of ${capPct(cap)} pruned (global selection ranked more of it ` +
        `lowest; the others made up the difference where they could). Lift it with maxLayerSparsity or ` +
        `layers.${names[0]}.maxSparsity (--layer-cap ${names[0]}=1)`
      );
    const listed = names.length > LISTED ? `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more` : names.join(', ');
    return (
      `${names.length} layers held at their cap of ${capPct(cap)} pruned: ${listed} (global selection ranked more of them ` +
      `lowest; the others made up the difference where they could; the report gives each layer's sparsity). ` +
      `Lift them with maxLayerSparsity, or one with layers.${names[0]}.maxSparsity (--layer-cap ${names[0]}=1)`
    );
  });
}

/**
 * OBS update block by block, with each inverse kept (or rebuilt): δw = F⁻¹v, v_q = −w_q/[F⁻¹]_qq on the pruned q
 * (obs/update.ts); pruned weights end exactly 0. Writes the kernels back and returns each layer's result.
 */
export async function updateWeights(ctx: StepContext, { masks, thresholds }: Selection): Promise<LayerResult[]> {
  const { layers, runner, n, damp } = ctx;
  const { k, of } = ctx.step;
  const kind = updateKind(ctx);
  const results: LayerResult[] = [];
  const next = layers.map(work => new Float64Array(work.layer.size));
  const updated = layers.map(() => 0);
  await forEachUpdateGroup(ctx, async (group, rebuildFrom) => {
    const inGroup = new Set(group);
    ctx.jobs ??= jobRefs(ctx);
    const jobs = ctx.jobs.filter(j => inGroup.has(j.layer));
    const total = jobs.reduce((t, j) => t + j.blocks, 0);
    let updatedAll = 0;
    await ctx.timed('update', () =>
      forEachBounded(
        jobs,
        runner ? inFlight(runner, jobs) : 1,
        async ({ id, layer, range, blocks, b }) => {
          const work = layers[layer];
          const wb = work.w.slice(range.start, range.end);
          const invGrad = work.invGrad?.slice(range.start, range.end); // WoodTaylor: the update also subtracts F⁻¹∇L
          const mask = masks[layer].slice(range.start, range.end);
          const rebuild = rebuildFrom && {
            G: { rows: rebuildFrom.get(work.layer.name)!, n, d: work.layer.size, ...range }, // gathered with its batch
            n,
            b,
            blocks,
            damp,
            form: ctx.options.inverseForm,
          };
          const res =
            runner && kind !== 'none'
              ? await runner.update({ op: 'update', id, w: wb, mask, kind, invGrad, rebuild })
              : { w: obsUpdate(wb, mask, null, 'none') };
          next[layer].set(res.w, range.start);
          ctx.emit({
            type: 'stage',
            stage: 'update',
            done: (updated[layer] += blocks),
            total: work.ranges.length,
            layer: work.layer.name,
            step: k,
            steps: of,
            message: rebuildFrom ? 'rebuilding each block inverse (they did not all fit in memory)' : undefined,
            overall: { done: (updatedAll += blocks), total },
          });
        },
        () => checkAbort(ctx.signal),
      ),
    );
  });
  await ctx.timed('update', () => {
    layers.forEach((work, i) => {
      const { layer } = work;
      for (let q = 0; q < next[i].length; q++) {
        if (masks[i][q]) next[i][q] = 0;
        else if (!Number.isFinite(next[i][q])) {
          throw new WoodFisherError(`the OBS update of layer ${layer.name} produced non-finite weights; raise --damp`, 'NUMERIC');
        }
      }
      writeKernel(ctx.model, layer, next[i]);
      const result = layerResult(layer, next[i], work.saliency, thresholds[i], { blocks: work.ranges.length, form: work.form });
      results.push(result);
      ctx.emit({ type: 'layer', result, step: k });
    });
  });
  return results;
}
