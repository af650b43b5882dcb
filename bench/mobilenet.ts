// (m) Per-sample gradients of MobileNetV2-224 (3.5M weights; test/fixtures/mobilenetv2.ts, random weights, BatchNorm
// statistics from random data) against PyTorch's per-sample loop — one backward per sample, the way the paper's
// reference code collects them — on torchvision's MobileNetV2, measured in this run (bench/torch_per_sample.py).
// Ours and PyTorch take turns, round after round, each keeping its best rate: the machine is shared and its load
// changes by the second. Ours is a whole call; the anchor is PyTorch's loop after its warm-up sample, and the loop
// with that sample's time is shown beside it. CPU seconds per sample count every thread of the process (onnxruntime's too).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../src/engine/backend';
import { loadModel } from '../src/engine/model/load';
import { perSampleGradients, gradientBatchSize, onnxBatchSize } from '../src/engine/gradients/perSample';
import type { Dataset } from '../src/engine/data/calibration';
import { onnxRuntimeUnavailable } from '../src/engine/linalg/accel';
import { buildMobileNetV2, saveModelFolder, randomImages } from '../test/fixtures/mobilenetv2';
import type { BenchContext } from './structured';

interface Rate {
  perSecond: number;
  cpuPerSample: number;
  samples: number;
  timings?: Record<string, number>;
  pass?: string;
}
interface TorchRate {
  perSamplePerSecond: number; // samples after the warm-up sample: the loop's steady rate (the anchor)
  wholeLoopPerSecond: number; // the same samples with the first one's time including its warm-up
  firstSampleSeconds: number;
  cpuSecondsPerSample: number;
  batchedBackwardPerSecond: number;
  threads: number;
  source: string;
  torch: string;
  samples: number;
  weights: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const f = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));

/** A python3 that imports torch, or why there is none. */
function torchPython(): { python?: string; why?: string } {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python };
  }
  return { why: 'no python3 with torch (apt-get install python3-torch; python3-torchvision optional)' };
}

function runTorch(python: string, script: string, size: number, n: number, budget: number): TorchRate | { error: string } {
  const r = spawnSync(python, [script, '--size', String(size), '--n', String(n), '--budget', String(budget)], {
    encoding: 'utf8',
    timeout: 30 * 60_000,
  });
  const line = r.stdout?.split('\n').find(l => l.startsWith('{'));
  if (r.status !== 0 || !line) return { error: `exit ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}` };
  return JSON.parse(line) as TorchRate;
}

async function ours(
  m: Awaited<ReturnType<typeof loadModel>>,
  data: Dataset,
  opts: Parameters<typeof perSampleGradients>[3],
): Promise<Rate> {
  const timings: Record<string, number> = {};
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const g = await perSampleGradients(m, m.prunable, data, { ...opts, timings });
  const wall = (performance.now() - t0) / 1000,
    c = process.cpuUsage(c0);
  return { perSecond: data.count / wall, cpuPerSample: (c.user + c.system) / 1e6 / data.count, samples: data.count, timings, pass: g.pass };
}

const LARGE_N = 128,
  LARGE_ROUNDS = 3;

export async function sectionM(ctx: BenchContext & { budget: number }): Promise<void> {
  await initBackend('wasm');
  const size = ctx.smoke ? 32 : 224;
  // N = 32: a small calibration set (the paper's MobileNetV2 runs use hundreds); our rate is a whole call's —
  // building the ONNX graph and session and the first run's fresh pages included — PyTorch's is its steady loop
  const n = ctx.smoke ? 4 : 32;
  // this VM's speed drifts by 2× within a minute (steal, a busy SMT sibling): the default pass and PyTorch's loop
  // alternate for 5 rounds, best and median both shown; the slower TF.js variants run fewer
  const rounds = ctx.smoke ? 1 : 5,
    tfjsRounds = Math.min(2, rounds),
    contractionRounds = 1;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'woodfisher-bench-mnv2-'));
  const out: Record<string, unknown> = { inputSize: size, samples: n };
  try {
    const built = buildMobileNetV2(
      ctx.smoke ? { inputSize: size, alpha: 0.35, classes: 10, stages: 3, lastChannels: 64 } : { inputSize: size },
    );
    await saveModelFolder(built, path.join(tmp, 'model'));
    built.dispose();
    const m = await loadModel(path.join(tmp, 'model', 'model.json'));
    const d = m.prunable.reduce((a, l) => a + l.size, 0);
    out.weights = d;
    const data: Dataset = {
      x: randomImages(n, size, 5),
      shape: [n, size, size, 3],
      count: n,
      source: 'random',
      labels: Int32Array.from({ length: n }, (_, i) => (i * 7919) % m.numClasses),
    };
    const one: Dataset = {
      ...data,
      x: data.x.subarray(0, size * size * 3),
      shape: [1, size, size, 3],
      count: 1,
      labels: data.labels!.subarray(0, 1),
    };
    await perSampleGradients(m, m.prunable, one, {}); // warm-up: kernels, sessions, wasm memory
    const torch = ctx.smoke ? { why: 'not in --smoke mode' } : torchPython();
    const script = path.join(ctx.root, 'bench', 'torch_per_sample.py');
    const best: Record<string, Rate> = {};
    const all: Record<string, number[]> = {}; // samples/s of every round
    let bestTorch: TorchRate | undefined, torchError: string | undefined;
    const torchRates: number[] = [],
      torchWhole: number[] = [];
    const keep = (k: string, r: Rate) => {
      (all[k] ??= []).push(r.perSecond);
      if (!best[k] || r.perSecond > best[k].perSecond) best[k] = r;
    };
    for (let round = 0; round < rounds; round++) {
      const r = await ours(m, data, {});
      keep(`batched (${r.pass})`, r);
      if (round < tfjsRounds) keep('batched, TF.js pass', await ours(m, data, { pass: 'tfjs' }));
      if (!onnxRuntimeUnavailable() && round < contractionRounds)
        keep('batched, TF.js pass and contractions', await ours(m, data, { pass: 'tfjs', contractions: 'tfjs' }));
      if (torch.python) {
        const t = runTorch(torch.python, script, size, n, ctx.budget);
        if ('error' in t) torchError = t.error;
        else {
          torchRates.push(t.perSamplePerSecond);
          torchWhole.push(t.wholeLoopPerSecond);
          if (!bestTorch || t.perSamplePerSecond > bestTorch.perSamplePerSecond) bestTorch = t;
        }
      }
    }
    // tf.grads one sample at a time (TF.js' own tape; the test oracle): a few samples within the budget
    let refDone = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    while (refDone < n && (refDone < 2 || performance.now() - t0 < ctx.budget * 1000)) {
      const s = {
        ...one,
        x: data.x.subarray(refDone * size * size * 3, (refDone + 1) * size * size * 3),
        labels: data.labels!.subarray(refDone, refDone + 1),
      };
      await perSampleGradients(m, m.prunable, s, { mode: 'reference' });
      refDone++;
    }
    const cr = process.cpuUsage(c0);
    best['tf.grads per sample (TF.js tape)'] = {
      perSecond: refDone / ((performance.now() - t0) / 1000),
      cpuPerSample: (cr.user + cr.system) / 1e6 / refDone,
      samples: refDone,
    };
    all['tf.grads per sample (TF.js tape)'] = [best['tf.grads per sample (TF.js tape)'].perSecond];

    const anchor = bestTorch?.perSamplePerSecond,
      torchMedian = torchRates.length ? median(torchRates) : undefined;
    const rows: (string | number)[][] = Object.entries(best).map(([k, r]) => [
      k,
      r.samples,
      all[k].length,
      f(r.perSecond),
      f(median(all[k])),
      f(r.cpuPerSample, 3),
      anchor ? `${f(r.perSecond / anchor)}×` : 'n/a',
      torchMedian ? `${f(median(all[k]) / torchMedian)}×` : 'n/a',
    ]);
    if (bestTorch) {
      rows.push([
        `PyTorch ${bestTorch.torch} per-sample loop (${bestTorch.threads} thread${bestTorch.threads > 1 ? 's' : ''})`,
        bestTorch.samples,
        torchRates.length,
        f(bestTorch.perSamplePerSecond),
        f(torchMedian),
        f(bestTorch.cpuSecondsPerSample, 3),
        '1.00×',
        '1.00×',
      ]);
      // ours is a whole call (graph, session, first run included); PyTorch's anchor excludes its warm-up sample
      rows.push([
        `PyTorch loop, first sample's warm-up included`,
        bestTorch.samples,
        torchWhole.length,
        f(Math.max(...torchWhole)),
        f(median(torchWhole)),
        '',
        `${f(Math.max(...torchWhole) / bestTorch.perSamplePerSecond)}×`,
        `${f(median(torchWhole) / torchMedian!)}×`,
      ]);
      rows.push([
        `PyTorch batched backward (summed, not per sample)`,
        n,
        1,
        f(bestTorch.batchedBackwardPerSecond),
        '',
        '',
        `${f(bestTorch.batchedBackwardPerSecond / bestTorch.perSamplePerSecond)}×`,
        '',
      ]);
    } else rows.push(['PyTorch per-sample loop', '', '', torchError ? `error: ${torchError}` : `skipped: ${torch.why}`, '', '', '', '']);
    const bs = gradientBatchSize(m, m.prunable),
      obs = onnxBatchSize(m, m.prunable);
    ctx.table(
      `(m) per-sample gradients, MobileNetV2 ${size}×${size} (${(d / 1e6).toFixed(2)}M prunable weights), N = ${n}, batch ${Math.min(obs, n)} (onnxruntime) / ${Math.min(bs, n)} (TF.js), wasm + ${onnxRuntimeUnavailable() ? 'no onnxruntime' : 'onnxruntime'}; the default pass and PyTorch alternate for ${rounds} rounds` +
        (bestTorch ? `\n    anchor: ${bestTorch.source}, model.eval(), one backward per sample` : ''),
      ['variant', 'N', 'rounds', 'best samples/s', 'median', 'CPU s/sample (best)', '× PyTorch (best)', '× PyTorch (median)'],
      rows,
    );
    const first = Object.keys(best)[0]; // the default: the ONNX Runtime pass where it runs
    if (torchWhole.length)
      console.log(
        `    "${first}" against PyTorch's loop with its first sample: ${f(best[first].perSecond / Math.max(...torchWhole))}× best, ${f(median(all[first]) / median(torchWhole))}× median`,
      );
    const t = best[first].timings!;
    const total = Object.values(t).reduce((a, b) => a + b, 0);
    console.log(
      `    where the time of "${first}" went: ` +
        Object.entries(t)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${((100 * v) / total).toFixed(0)}%`)
          .join(', '),
    );
    // a larger calibration set, where a call's fixed costs (graph, session, first run) spread over more samples: the
    // default pass and PyTorch again, alternating
    let large: Record<string, unknown> | undefined;
    if (!ctx.smoke) {
      const nl = LARGE_N;
      const dl: Dataset = {
        ...data,
        x: randomImages(nl, size, 6),
        shape: [nl, size, size, 3],
        count: nl,
        labels: Int32Array.from({ length: nl }, (_, i) => (i * 7919) % m.numClasses),
      };
      const oursL: Rate[] = [],
        torchL: number[] = [],
        torchWholeL: number[] = [];
      for (let round = 0; round < LARGE_ROUNDS; round++) {
        oursL.push(await ours(m, dl, {}));
        if (torch.python) {
          const t = runTorch(torch.python, script, size, nl, ctx.budget * 4);
          if ('error' in t) torchError = t.error;
          else {
            torchL.push(t.perSamplePerSecond);
            torchWholeL.push(t.wholeLoopPerSecond);
          }
        }
      }
      const rates = oursL.map(r => r.perSecond);
      const bestL = oursL.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
      const tb = torchL.length ? Math.max(...torchL) : undefined,
        tm = torchL.length ? median(torchL) : undefined;
      ctx.table(
        `(m) the same at N = ${nl}: the default pass and PyTorch alternate for ${LARGE_ROUNDS} rounds`,
        ['variant', 'N', 'rounds', 'best samples/s', 'median', 'CPU s/sample (best)', '× PyTorch (best)', '× PyTorch (median)'],
        [
          [
            `batched (${bestL.pass})`,
            nl,
            rates.length,
            f(bestL.perSecond),
            f(median(rates)),
            f(bestL.cpuPerSample, 3),
            tb ? `${f(bestL.perSecond / tb)}×` : 'n/a',
            tm ? `${f(median(rates) / tm)}×` : 'n/a',
          ],
          tb
            ? ['PyTorch per-sample loop', nl, torchL.length, f(tb), f(tm), '', '1.00×', '1.00×']
            : ['PyTorch per-sample loop', '', '', torchError ? `error: ${torchError}` : `skipped: ${torch.why}`, '', '', '', ''],
          ...(tb
            ? [
                [
                  `PyTorch loop, first sample's warm-up included`,
                  nl,
                  torchWholeL.length,
                  f(Math.max(...torchWholeL)),
                  f(median(torchWholeL)),
                  '',
                  `${f(Math.max(...torchWholeL) / tb)}×`,
                  `${f(median(torchWholeL) / tm!)}×`,
                ],
              ]
            : []),
        ],
      );
      large = {
        samples: nl,
        ours: oursL,
        torchRates: torchL,
        ratioVsTorchLoop: tb && bestL.perSecond / tb,
        ratioOfMedians: tm && median(rates) / tm,
        torchWholeLoopRates: torchWholeL,
        ratioVsTorchWholeLoop: torchWholeL.length ? bestL.perSecond / Math.max(...torchWholeL) : undefined,
      };
    }
    m.model.dispose();
    Object.assign(out, {
      large,
      batch: Math.min(bs, n),
      variants: best,
      torch: bestTorch ?? { skipped: torchError ?? torch.why },
      ratioVsTorchLoop: anchor ? best[first].perSecond / anchor : undefined,
      medians: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, median(v)])),
      torchRates,
      torchWholeLoopRates: torchWhole,
      ratioVsTorchWholeLoop: torchWhole.length ? best[first].perSecond / Math.max(...torchWhole) : undefined,
      ratioOfMediansWholeLoop: torchWhole.length ? median(all[first]) / median(torchWhole) : undefined,
      ratioOfMedians: torchMedian ? median(all[first]) / torchMedian : undefined,
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  ctx.results.mobilenetGradients = out;
}
