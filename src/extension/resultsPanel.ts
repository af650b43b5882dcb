// The results panel beside the editor: one per model, restored after reload by a serializer.
// The host owns the latest snapshot and re-sends it whenever the panel becomes visible again
// (a hidden webview receives no messages); snapshots are throttled to ≈10/s plus a final one.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FromWebviewMessage, PanelSnapshot, ToWebviewMessage } from '../protocol';
import { isWebviewEnvelope, MessageHandler } from '../protocol';
import { applyReport, emptySnapshot } from './snapshot';
import type { PruneReport } from '../protocol';
import { modelFolderName } from './outputDir';
import { readInputText } from '../engine/files';
import { MAX_HOST_JSON_BYTES } from './modelFile';
import { gradualViewOf } from './gradualSnapshot';
import { panelHtml } from './panelHtml';

export const PANEL_VIEW_TYPE = 'woodfisher.results';
const SNAPSHOT_INTERVAL_MS = 100;

export type PanelActionHandler = (modelPath: string, msg: FromWebviewMessage) => void;

export class ResultsPanel implements vscode.Disposable {
  private snapshot: PanelSnapshot;
  private readonly channel: MessageHandler<ToWebviewMessage, FromWebviewMessage>;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastSent = 0;
  private disposed = false;
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly modelPath: string,
    extensionUri: vscode.Uri,
    onAction: PanelActionHandler,
    snapshot?: PanelSnapshot,
  ) {
    this.snapshot = snapshot ?? emptySnapshot(modelPath, modelFolderName(modelPath));
    const root = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [root] };
    panel.iconPath = undefined;
    panel.webview.html = renderHtml(panel.webview, root, this.snapshot.title);
    this.channel = new MessageHandler<ToWebviewMessage, FromWebviewMessage>(
      env => {
        void panel.webview.postMessage(env);
      },
      body => {
        if (body.type === 'ready') this.sendNow();
        else onAction(this.modelPath, body);
      },
    );
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isWebviewEnvelope(m)) this.channel.handleMessage(m);
      }),
      panel.onDidChangeViewState(e => {
        if (e.webviewPanel.visible) this.sendNow();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get current(): PanelSnapshot {
    return this.snapshot;
  }

  /** Replaces the snapshot; status changes go out at once, progress at most every 100 ms. */
  update(next: PanelSnapshot): void {
    const statusChanged = next.status !== this.snapshot.status;
    this.snapshot = next;
    if (statusChanged) {
      this.sendNow();
      return;
    }
    const wait = SNAPSHOT_INTERVAL_MS - (Date.now() - this.lastSent);
    if (wait <= 0) this.sendNow();
    else if (!this.timer) this.timer = setTimeout(() => this.sendNow(), wait);
  }

  reveal(): void {
    this.panel.reveal(vscode.ViewColumn.Beside, true);
  }

  revealLayer(name: string): void {
    this.sendNow();
    this.channel.sendEvent({ type: 'revealLayer', name });
  }

  private sendNow(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.disposed) return;
    this.lastSent = Date.now();
    this.panel.title = `WoodFisher: ${this.snapshot.title}`;
    this.channel.sendEvent({ type: 'snapshot', snapshot: this.snapshot });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    this.closed.fire();
    this.closed.dispose();
  }
}

/** The report of the snapshot's run, if it finished writing one for this model. */
async function readReport(snap: PanelSnapshot): Promise<{ report: PruneReport; path: string } | undefined> {
  if (!snap.outDir) return undefined;
  const file = path.join(snap.outDir, 'report.json');
  try {
    const report = JSON.parse(await readInputText(file, 'Report', MAX_HOST_JSON_BYTES)) as PruneReport;
    return path.resolve(report.model) === path.resolve(snap.modelPath) ? { report, path: file } : undefined;
  } catch {
    return undefined;
  }
}

/** A report found after a reload: a finished run's, or (gradual) the last checkpoint's, which is not a finished run. */
function restoreFromReport(snap: PanelSnapshot, report: PruneReport, file: string): PanelSnapshot {
  const gradual = gradualViewOf(report);
  if (!gradual) return applyReport(snap, report, file);
  if (gradual.finished) return { ...applyReport(snap, report, file), gradual };
  return {
    ...snap,
    status: 'cancelled',
    gradual,
    log: [
      ...(snap.log ?? []),
      `info: interrupted by a window reload; the checkpoint after epoch ${gradual.checkpoint} is kept in ${report.output} (Gradual Prune again offers to resume it)`,
    ],
  };
}

/** One panel per model; creates, reveals and restores them. */
export class PanelManager implements vscode.Disposable, vscode.WebviewPanelSerializer<{ snapshot?: PanelSnapshot }> {
  private readonly panels = new Map<string, ResultsPanel>();
  private readonly snapshots = new Map<string, PanelSnapshot>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onAction: PanelActionHandler,
  ) {}

  get(modelPath: string): ResultsPanel | undefined {
    return this.panels.get(path.resolve(modelPath));
  }

  /** The panel of the model, created beside the editor (without taking focus) or revealed. */
  show(modelPath: string): ResultsPanel {
    const existing = this.get(modelPath);
    if (existing) {
      existing.reveal();
      return existing;
    }
    // Webview options are set by ResultsPanel, for created and restored panels alike.
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, `WoodFisher: ${modelFolderName(modelPath)}`, {
      viewColumn: vscode.ViewColumn.Beside,
      preserveFocus: true,
    });
    return this.adopt(panel, modelPath, this.snapshots.get(path.resolve(modelPath)));
  }

  /** The most recently active panel's model, if any. */
  activeModel(): string | undefined {
    for (const p of this.panels.values()) if (p.panel.active) return p.modelPath;
    return undefined;
  }

  update(modelPath: string, next: PanelSnapshot): void {
    this.snapshots.set(path.resolve(modelPath), next);
    this.get(modelPath)?.update(next);
  }

  snapshotOf(modelPath: string): PanelSnapshot | undefined {
    return this.snapshots.get(path.resolve(modelPath));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { snapshot?: PanelSnapshot } | undefined): Promise<void> {
    const snap = state?.snapshot;
    if (!snap?.modelPath) {
      panel.dispose();
      return;
    }
    // A run does not survive a window reload (its worker is killed on deactivate). The saved state may also be
    // older than the run's end (the workbench persists webview state lazily): a report on disk is the truth.
    const report = snap.status === 'running' ? await readReport(snap) : undefined;
    const restored: PanelSnapshot = report
      ? restoreFromReport(snap, report.report, report.path)
      : snap.status === 'running'
        ? { ...snap, status: 'cancelled', log: [...(snap.log ?? []), 'info: interrupted by a window reload'] }
        : snap;
    const k = path.resolve(snap.modelPath);
    if (this.panels.has(k)) {
      panel.dispose();
      return;
    }
    if (!this.snapshots.has(k)) this.snapshots.set(k, restored);
    this.adopt(panel, snap.modelPath, this.snapshots.get(k));
  }

  private adopt(panel: vscode.WebviewPanel, modelPath: string, snapshot?: PanelSnapshot): ResultsPanel {
    const k = path.resolve(modelPath);
    const p = new ResultsPanel(panel, modelPath, this.extensionUri, this.onAction, snapshot);
    this.panels.set(k, p);
    p.onDidClose(() => {
      if (this.panels.get(k) === p) this.panels.delete(k);
    });
    return p;
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
  }
}

/** webview/index.html (copied to dist/webview by esbuild.mjs) with the webview's URIs, CSP and title. */
function renderHtml(webview: vscode.Webview, root: vscode.Uri, title: string): string {
  const template = readFileSync(vscode.Uri.joinPath(root, 'index.html').fsPath, 'utf8');
  return panelHtml(template, {
    cspSource: webview.cspSource,
    title,
    script: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js')).toString(),
    style: webview.asWebviewUri(vscode.Uri.joinPath(root, 'style.css')).toString(),
  });
}
