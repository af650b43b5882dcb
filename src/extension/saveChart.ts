// "Save PNG / SVG" under a panel chart: the user picks a new file (the dialog asks before replacing one), the host
// writes it. PNG comes from the chart's canvas; the sweep's SVG is the engine's standalone plot (engine/report/svg.ts,
// the CLI's sweep.svg), on the same log-density axis.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PanelSnapshot, WebviewSaveChartMessage } from '../protocol';
import { sweepSvg } from '../engine/report/svg';
import type { SweepResult } from '../engine/report/sweep-result';

const PNG_DATA_URL = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/;

/** The sweep of a snapshot as the engine's SweepResult (its points are the engine's own). */
export function sweepResultOf(s: PanelSnapshot): SweepResult {
  const points = s.sweep ?? [];
  return {
    version: 1,
    model: s.modelPath,
    dense: s.before,
    methods: [...new Set(points.map(p => p.method))],
    sparsities: [...new Set(points.map(p => p.sparsity))].sort((a, b) => a - b),
    points,
    ...(s.sweepEpochs !== undefined ? { gradual: { epochs: s.sweepEpochs } } : {}),
  };
}

export async function saveChart(snapshot: PanelSnapshot | undefined, msg: WebviewSaveChartMessage): Promise<vscode.Uri | undefined> {
  if (!snapshot) return undefined;
  let bytes: Uint8Array;
  if (msg.format === 'svg') {
    if (msg.chart !== 'sweep' || !snapshot.sweep?.length) {
      void vscode.window.showWarningMessage('WoodFisher: only a sweep with accuracies can be saved as SVG; save the PNG instead.');
      return undefined;
    }
    bytes = Buffer.from(sweepSvg(sweepResultOf(snapshot)), 'utf8');
  } else {
    const m = PNG_DATA_URL.exec(msg.dataUrl ?? '');
    if (!m) {
      void vscode.window.showWarningMessage('WoodFisher: the chart has nothing drawn yet.');
      return undefined;
    }
    bytes = Buffer.from(m[1], 'base64');
  }
  const name = `${path.basename(path.dirname(snapshot.modelPath))}-${msg.chart.replace(/[^\w-]/g, '')}.${msg.format}`;
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(path.join(path.dirname(snapshot.modelPath), name)),
    filters: msg.format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
    title: `Save the ${msg.chart} chart`,
  });
  if (!target) return undefined;
  // the dialog confirmed any replacement; write beside it and rename, so a failed write never leaves half a file
  const tmp = `${target.fsPath}.partial-${process.pid}`;
  try {
    await fs.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.rename(tmp, target.fsPath);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    void vscode.window.showErrorMessage(`WoodFisher: cannot save ${target.fsPath}: ${(e as Error).message}`);
    return undefined;
  }
  void vscode.window.showInformationMessage(`WoodFisher: saved ${path.basename(target.fsPath)}.`);
  return target;
}
