// What a run tells its user about the runtimes it used when a faster one did not load: TF.js fell back from tfjs-node
// (backend.ts), or the Fisher products from onnxruntime-node to plain JS (linalg/fastest.ts). Said once per process in
// the log (the CLI prints it, the panel lists it) — once however many runs (demo, sweep) — and kept in the report
// (backendNote, linalgNote).
import { tfjsNodeMissing, tfjsNodeNotice } from './backend';
import { nativeGemmMissing, nativeGemmNotice } from './linalg/fastest';
import type { PruneEvent, PruneReport } from './types';

const said = new Set<string>();

/** The notes for a run on `backend` (products only matter to methods that compute Fisher blocks), each logged once. */
export function runtimeNotes(
  backend: string,
  usesProducts: boolean,
  emit: (e: PruneEvent) => void,
): Pick<PruneReport, 'backendNote' | 'linalgNote'> {
  const tfjs = tfjsNodeMissing(backend);
  const gemm = usesProducts ? nativeGemmMissing() : undefined;
  const notes = {
    ...(tfjs ? { backendNote: tfjsNodeNotice(backend, tfjs) } : {}),
    ...(gemm ? { linalgNote: nativeGemmNotice(gemm) } : {}),
  };
  for (const message of Object.values(notes)) {
    if (said.has(message)) continue;
    said.add(message);
    emit({ type: 'log', level: 'warn', message });
  }
  return notes;
}
