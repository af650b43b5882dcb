// (s) Structured pruning: OBS group saliency + group update against L1-norm filter pruning (Li et al. 2017) on the
// bundled MNIST models, at equal structure (the same units removed per layer, hence equal FLOPs) and at an equal FLOPs
// target; accuracy after one shot and after a short fine-tune (Adam on the 1,000 calibration digits); and TF.js
// latency of a MobileNetV2-class model before and after shrinking. All figures from this one run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../src/engine/backend';
import { runPrune } from '../src/engine/prune';
import { loadModel } from '../src/engine/model/load';
import { loadDataset } from '../src/engine/data/calibration';
import { evaluate } from '../src/engine/gradients/evaluate';
import { DEFAULT_OPTIONS, type Method, type PruneOptions, type PruneReport, type UpdateKind } from '../src/engine/types';
import { buildMobileNetV2, saveModelFolder, writeCalibration } from '../test/fixtures/mobilenetv2';

export interface BenchContext {
  root: string;
  smoke: boolean;
  table: (title: string, head: string[], rows: (string | number)[][]) => void;
  results: Record<string, unknown>;
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : (100 * x).toFixed(1));

interface Variant {
  label: string;
  method: Method;
  update: UpdateKind;
  scope: 'global' | 'layer';
}
const L1: Variant = { label: 'L1-norm', method: 'magnitude', update: 'none', scope: 'layer' };
const OBS_NONE: Variant = { label: 'OBS, no update', method: 'woodfisher', update: 'none', scope: 'layer' };
const OBS: Variant = { label: 'OBS + group update', method: 'woodfisher', update: 'joint', scope: 'layer' };

/** Adam on the calibration digits for a few epochs, then accuracy on the test digits. */
async function fineTune(
  modelJson: string,
  calib: { x: string; y: string },
  test: { x: string; y: string },
  epochs: number,
): Promise<number> {
  const m = await loadModel(modelJson);
  try {
    const d = await loadDataset(m, calib.x, calib.y),
      t = await loadDataset(m, test.x, test.y);
    m.model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
    const x = tf.tensor(d.x, d.shape),
      y = tf.tensor1d(Float32Array.from(d.labels!));
    await m.model.fit(x, y, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
    return (await evaluate(m, t)).accuracy;
  } finally {
    m.model.dispose();
  }
}

export async function sectionS(ctx: BenchContext): Promise<void> {
  const ex = (p: string) => path.join(ctx.root, 'examples', p);
  const calib = { x: ex('data/calib-x.npy'), y: ex('data/calib-y.npy') },
    test = { x: ex('data/test-x.npy'), y: ex('data/test-y.npy') };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-struct-'));
  const epochs = ctx.smoke ? 0 : 2;
  const out: Record<string, unknown> = {};
  let k = 0;
  const run = async (model: string, v: Variant, extra: Partial<PruneOptions>): Promise<{ r: PruneReport; tuned?: number }> => {
    const outDir = path.join(tmp, `run-${k++}`);
    const r = await runPrune({
      ...DEFAULT_OPTIONS,
      modelPath: ex(`${model}/model.json`),
      dataPath: calib.x,
      labelsPath: calib.y,
      evalPath: test.x,
      evalLabelsPath: test.y,
      samples: ctx.smoke ? 128 : 1000,
      damp: 1e-5,
      blockSize: 1000,
      structure: 'neurons',
      backend: 'wasm',
      outDir,
      sparsity: 0,
      method: v.method,
      update: v.update,
      scope: v.scope,
      ...extra,
    });
    const tuned = epochs > 0 ? await fineTune(path.join(outDir, 'model.json'), calib, test, epochs) : undefined;
    fs.rmSync(outDir, { recursive: true, force: true });
    return { r, tuned };
  };
  try {
    // equal structure: the same fraction of units per layer, so the same FLOPs for every method
    const rows: (string | number)[][] = [];
    for (const model of ['mlpnet', 'cnn']) {
      for (const s of ctx.smoke ? [0.5] : [0.25, 0.5, 0.75]) {
        const got = [];
        for (const v of [L1, OBS_NONE, OBS]) got.push(await run(model, v, { sparsity: s }));
        const flops = got.map(g => g.r.structure!.after.flops / g.r.structure!.before.flops);
        if (flops.some(f => Math.abs(f - flops[0]) > 1e-12)) throw new Error(`equal structure gave different FLOPs: ${flops}`);
        rows.push([
          model,
          pct(s),
          pct(flops[0]),
          pct(got[0].r.before!.accuracy),
          ...got.map(g => pct(g.r.after!.accuracy)),
          ...got.map(g => pct(g.tuned)),
        ]);
        out[`${model}-layer-${s}`] = got.map((g, i) => ({
          method: [L1, OBS_NONE, OBS][i].label,
          flops: flops[0],
          oneShot: g.r.after!.accuracy,
          tuned: g.tuned,
        }));
      }
    }
    ctx.table(
      `(s1) structured, equal structure per layer (test accuracy %, one shot; then after ${epochs} epochs of Adam on the 1,000 calibration digits)`,
      [
        'model',
        'units removed',
        'FLOPs kept',
        'dense',
        'L1 one-shot',
        'OBS no-upd.',
        'OBS+update',
        'L1 tuned',
        'OBS no-upd. tuned',
        'OBS+upd. tuned',
      ],
      rows,
    );

    // equal FLOPs target: OBS chooses where to remove (global), L1 removes the same fraction from every layer
    const rows2: (string | number)[][] = [];
    for (const model of ['mlpnet', 'cnn']) {
      for (const f of ctx.smoke ? [0.5] : [0.75, 0.5, 0.3]) {
        const l1 = await run(model, L1, { targetFlops: f });
        const obsG = await run(model, { ...OBS, scope: 'global' }, { targetFlops: f });
        const obsL = await run(model, OBS, { targetFlops: f });
        const fl = (r: PruneReport) => pct(r.structure!.after.flops / r.structure!.before.flops);
        rows2.push([
          model,
          pct(f),
          `${fl(l1.r)} / ${fl(obsL.r)} / ${fl(obsG.r)}`,
          pct(l1.r.after!.accuracy),
          pct(obsL.r.after!.accuracy),
          pct(obsG.r.after!.accuracy),
          pct(l1.tuned),
          pct(obsL.tuned),
          pct(obsG.tuned),
        ]);
        out[`${model}-flops-${f}`] = {
          l1: [l1.r.after!.accuracy, l1.tuned],
          obsLayer: [obsL.r.after!.accuracy, obsL.tuned],
          obsGlobal: [obsG.r.after!.accuracy, obsG.tuned],
        };
      }
    }
    ctx.table(
      '(s2) structured at a FLOPs target (test accuracy %): L1 and OBS with one fraction per layer, OBS global (lowest group saliency anywhere)',
      [
        'model',
        'FLOPs target',
        'FLOPs kept L1/OBS-l/OBS-g',
        'L1',
        'OBS layer',
        'OBS global',
        'L1 tuned',
        'OBS layer tuned',
        'OBS global tuned',
      ],
      rows2,
    );

    // latency: a MobileNetV2-class model, shrunk to FLOPs targets (selection by L1: this table is about speed)
    const size = ctx.smoke ? 64 : 128;
    const mnv2 = buildMobileNetV2({ inputSize: size, alpha: ctx.smoke ? 0.35 : 0.75, classes: 10, calibrate: 8 });
    const modelPath = await saveModelFolder(mnv2, path.join(tmp, 'mnv2'));
    mnv2.dispose();
    const data = writeCalibration(path.join(tmp, 'mnv2-data'), 8, size, 10);
    const rows3: (string | number)[][] = [];
    for (const f of ctx.smoke ? [0.5] : [0.75, 0.5, 0.25]) {
      const r = await runPrune({
        ...DEFAULT_OPTIONS,
        modelPath,
        dataPath: data.x,
        labelsPath: data.y,
        structure: 'neurons',
        method: 'magnitude',
        targetFlops: f,
        sparsity: 0,
        backend: 'wasm',
        outDir: path.join(tmp, `mnv2-${f}`),
      });
      const s = r.structure!;
      rows3.push([
        `MobileNetV2 α=${ctx.smoke ? 0.35 : 0.75} ${size}×${size}`,
        pct(f),
        `${(s.before.params / 1e6).toFixed(2)}M → ${(s.after.params / 1e6).toFixed(2)}M`,
        `${(s.before.flops / 1e6).toFixed(0)}M → ${(s.after.flops / 1e6).toFixed(0)}M`,
        `${s.before.latencyMs.batch1.toFixed(1)} → ${s.after.latencyMs.batch1.toFixed(1)}`,
        (s.before.latencyMs.batch1 / s.after.latencyMs.batch1).toFixed(2) + '×',
        `${s.before.latencyMs.batch32.toFixed(0)} → ${s.after.latencyMs.batch32.toFixed(0)}`,
        (s.before.latencyMs.batch32 / s.after.latencyMs.batch32).toFixed(2) + '×',
      ]);
      out[`mnv2-${f}`] = s;
    }
    ctx.table(
      '(s3) TF.js wasm latency before → after structured pruning (median of interleaved runs, ms)',
      ['model', 'FLOPs target', 'params', 'FLOPs', 'batch 1 ms', 'speed-up', 'batch 32 ms', 'speed-up'],
      rows3,
    );
    ctx.results.structured = out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
