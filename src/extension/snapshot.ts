// The panel's state as a pure reducer: engine events and reports fold into a PanelSnapshot. The host keeps one per
// model (jobs.ts) and sends it to the webview; no vscode import, so it is unit-tested on its own.
import type { PanelSnapshot, PruneEvent, PruneReport } from '../protocol';

/** Creates an empty snapshot for a model. */
export function emptySnapshot(modelPath: string, title: string): PanelSnapshot {
  return { modelPath, title, mode: 'prune', status: 'idle', layers: [], log: [] };
}

/**
 * Folds one engine event into a snapshot.
 * Per-layer results replace earlier ones of the same layer (later recompute steps win).
 */
export function applyEvent(s: PanelSnapshot, e: PruneEvent): PanelSnapshot {
  switch (e.type) {
    case 'stage':
      return { ...s, stage: e };
    case 'plan':
      return { ...s, prunable: e.layers, memory: e.memory, backend: e.backend };
    case 'layer': {
      const layers = s.layers.filter(l => l.name !== e.result.name);
      layers.push(e.result);
      const order = s.prunable?.map(p => p.name);
      if (order) layers.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
      return { ...s, layers };
    }
    case 'eval':
      return e.which === 'before' ? { ...s, before: e.result } : { ...s, after: e.result };
    case 'log':
      return { ...s, log: [...s.log.slice(-49), `${e.level}: ${e.message}`] };
    case 'damp':
      return e.chosen
        ? { ...s, damp: e.damp }
        : {
            ...s,
            log: [
              ...s.log.slice(-49),
              `info: λ = ${e.damp.toExponential(2)} (${e.relative} × mean Fisher diagonal): calibration loss ${e.loss.toFixed(4)}, accuracy ${(100 * e.accuracy).toFixed(1)}%`,
            ],
          };
    case 'done':
      return applyReport(s, e.report, e.reportPath);
  }
}

/** The finished run's report, as the panel shows it (also restores a panel whose run ended while it was away). */
export function applyReport(s: PanelSnapshot, r: PruneReport, reportPath?: string): PanelSnapshot {
  return {
    ...s,
    status: 'done',
    error: undefined,
    backend: [
      r.backend,
      r.gradientPass && `gradients ${r.gradientPass.split(' (not onnxruntime')[0]}`, // the report keeps the reason
      r.linalg && `linalg ${r.linalg}`,
      r.host && `on ${r.host}`,
    ]
      .filter(Boolean)
      .join(' · '),
    notes: [r.backendNote, r.linalgNote].filter((n): n is string => !!n),
    damp: r.damp,
    layers: r.layers,
    before: r.before ?? s.before,
    after: r.after ?? s.after,
    sparsity: r.sparsity,
    seconds: r.seconds.total,
    outDir: r.output,
    reportPath: reportPath ?? s.reportPath,
    memory: r.memory,
    structure: r.structure,
    size: r.size,
    encodings:
      r.quantization &&
      Object.keys(r.quantization.encodings)
        .filter(k => k !== 'raw')
        .join('+'),
  };
}
