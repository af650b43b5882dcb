// A sparsity sweep in the worker: the engine's runSweep when src/engine/sweep.ts provides it, otherwise
// one runPrune per (method, sparsity) into sub-folders of the sweep's output folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalResult, PruneEvent, PruneOptions, PruneReport, SizeFigures } from '../engine/types';
import type { StartSweepMessage, SweepPoint } from '../protocol';

interface SweepHooks { onEvent: (e: PruneEvent) => void; signal: AbortSignal; onPoint: (p: SweepPoint) => void }
type EngineSweep = (base: PruneOptions, sparsities: number[], methods: string[],
  hooks: { onEvent?: (e: PruneEvent) => void; signal?: AbortSignal; onPoint?: (p: unknown) => void }) => Promise<unknown>;

function loadEngineSweep(): EngineSweep | undefined {
  try {
    // Optional module: esbuild leaves an unresolvable require inside try/catch for run time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('../engine/sweep') as { runSweep?: EngineSweep };
    return typeof mod.runSweep === 'function' ? mod.runSweep : undefined;
  } catch {
    return undefined;
  }
}

export async function runSweepJob(msg: StartSweepMessage, hooks: SweepHooks): Promise<{ points: SweepPoint[]; baseline?: EvalResult; inputSize?: SizeFigures }> {
  const engineSweep = loadEngineSweep();
  if (engineSweep) {
    const result = await engineSweep(msg.options, msg.sparsities, msg.methods, {
      onEvent: hooks.onEvent, signal: hooks.signal, onPoint: p => { const n = normalizePoint(p); if (n) hooks.onPoint(n); },
    });
    return normalizeResult(result);
  }
  const { runPrune } = await import('../engine/prune');
  const points: SweepPoint[] = [];
  let baseline: EvalResult | undefined;
  let inputSize: SizeFigures | undefined;
  fs.mkdirSync(msg.options.outDir, { recursive: true });
  for (const method of msg.methods) {
    for (const sparsity of msg.sparsities) {
      if (hooks.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
      const outDir = path.join(msg.options.outDir, `${method}-${Math.round(sparsity * 1000) / 10}`);
      hooks.onEvent({ type: 'log', level: 'info', message: `sweep: ${method} at ${(sparsity * 100).toFixed(1)}%` });
      const report = await runPrune({ ...msg.options, method, sparsity, outDir }, { onEvent: hooks.onEvent, signal: hooks.signal });
      baseline ??= report.before;
      inputSize ??= report.size?.input;
      const point = pointFromReport(method, sparsity, report, path.join(outDir, 'report.json'));
      points.push(point);
      hooks.onPoint(point);
    }
  }
  return { points, baseline, inputSize };
}

function pointFromReport(method: string, sparsity: number, r: PruneReport, reportPath?: string): SweepPoint {
  return { method, sparsity, achieved: r.sparsity.achieved, accuracy: r.after?.accuracy, loss: r.after?.loss, reportPath, size: r.size?.output };
}

function normalizePoint(p: unknown): SweepPoint | undefined {
  if (!p || typeof p !== 'object') return undefined;
  const o = p as Record<string, unknown>;
  const report = o.report as PruneReport | undefined;
  const method = typeof o.method === 'string' ? o.method : report?.settings.method;
  const sparsity = typeof o.sparsity === 'number' ? o.sparsity : report?.sparsity.target;
  if (method === undefined || sparsity === undefined) return undefined;
  const after = (o.after ?? report?.after) as EvalResult | undefined;
  return {
    method, sparsity,
    achieved: typeof o.achieved === 'number' ? o.achieved : report?.sparsity.achieved,
    accuracy: typeof o.accuracy === 'number' ? o.accuracy : after?.accuracy,
    loss: typeof o.loss === 'number' ? o.loss : after?.loss,
    reportPath: typeof o.reportPath === 'string' ? o.reportPath : undefined,
    size: (o.size ?? report?.size?.output) as SizeFigures | undefined,
  };
}

function normalizeResult(r: unknown): { points: SweepPoint[]; baseline?: EvalResult; inputSize?: SizeFigures } {
  const o = (r ?? {}) as Record<string, unknown>;
  const list = Array.isArray(r) ? r : Array.isArray(o.points) ? o.points : Array.isArray(o.results) ? o.results : [];
  const points = list.map(normalizePoint).filter((p): p is SweepPoint => !!p);
  const baseline = (o.baseline ?? o.before ?? o.dense) as EvalResult | undefined;
  return { points, baseline: baseline && typeof baseline.accuracy === 'number' ? baseline : undefined, inputSize: o.inputSize as SizeFigures | undefined };
}
