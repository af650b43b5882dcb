// Outline, breadcrumbs and Go to Symbol (Ctrl+Shift+O) for model.json and its formatted view: the model's layers in
// order with kind and weights, and after a run each prunable layer's sparsity and threshold in the detail. Exact
// ranges come from modelOutline (jsonc offsets), so a one-line converter file works. Moving the cursor into a layer
// (from the outline, breadcrumbs or Go to Symbol) also highlights it in that model's panel.
import * as vscode from 'vscode';
import type { LayerResult, PruneReport } from '../protocol';
import { fmtCount, fmtNum, fmtPct } from './format';
import { modelPathOf } from './modelView';
import { flatLayers, outlineModel, type ModelOutline, type OutlineLayer } from './modelOutline';
import type { ResultsStore } from './resultsStore';

export function layerDetail(l: OutlineLayer, r: LayerResult | undefined): string {
  const parts = [l.className];
  if (l.params) parts.push(`${fmtCount(l.params)} weights`);
  if (l.children.length) parts.push(`${l.children.length} layers`);
  if (r?.excluded) parts.push('excluded (dense)');
  else if (r) parts.push(`${(r.sparsity * 100).toFixed(1)}% pruned`, `threshold ${fmtNum(r.threshold)}`);
  return parts.join(' · ');
}

export function modelDetail(o: ModelOutline, report: PruneReport | undefined): string {
  const parts = [`${flatLayers(o).length} layers`, `${fmtCount(o.params)} weights`];
  if (report) parts.push(`${(report.sparsity.achieved * 100).toFixed(1)}% of prunable weights pruned`);
  if (report?.before && report.after) parts.push(`accuracy ${fmtPct(report.before.accuracy)} → ${fmtPct(report.after.accuracy)}`);
  return parts.join(' · ');
}

export class ModelSymbolProvider implements vscode.DocumentSymbolProvider, vscode.Disposable {
  private registration: vscode.Disposable | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private selectionTimer: NodeJS.Timeout | undefined;
  private lastRevealed = '';

  constructor(
    private readonly results: ResultsStore,
    private readonly selector: vscode.DocumentSelector,
    onLayerSelected: (modelPath: string, layer: string) => void,
  ) {
    this.register();
    // No API refreshes symbols; a new registration makes the outline and breadcrumbs ask again.
    this.disposables.push(results.onDidChange(() => this.register()));
    this.disposables.push(
      vscode.window.onDidChangeTextEditorSelection(e => {
        const modelPath = modelPathOf(e.textEditor.document.uri);
        if (!modelPath) return;
        if (this.selectionTimer) clearTimeout(this.selectionTimer);
        this.selectionTimer = setTimeout(() => {
          const layer = layerAt(e.textEditor.document, e.selections[0].active);
          const key = `${modelPath}\0${layer?.name}`;
          if (layer && key !== this.lastRevealed) {
            this.lastRevealed = key;
            onLayerSelected(modelPath, layer.name);
          }
        }, 150);
      }),
    );
  }

  private register(): void {
    this.registration?.dispose();
    this.registration = vscode.languages.registerDocumentSymbolProvider(this.selector, this, { label: 'WoodFisher layers' });
  }

  async provideDocumentSymbols(doc: vscode.TextDocument): Promise<vscode.DocumentSymbol[]> {
    const modelPath = modelPathOf(doc.uri);
    const o = modelPath ? outlineOf(doc) : undefined;
    if (!o || !modelPath) return [];
    const report = (await this.results.lookup(modelPath))?.report;
    const byName = new Map(report?.layers.map(l => [l.name, l]) ?? []);
    const range = (offset: number, length: number) => new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + length));
    const symbol = (l: OutlineLayer): vscode.DocumentSymbol => {
      const s = new vscode.DocumentSymbol(
        l.name,
        layerDetail(l, byName.get(l.name)),
        l.children.length ? vscode.SymbolKind.Module : l.prunable ? vscode.SymbolKind.Function : vscode.SymbolKind.Variable,
        range(l.offset, l.length),
        range(l.nameOffset, l.nameLength),
      );
      s.children = l.children.map(symbol);
      return s;
    };
    const root = new vscode.DocumentSymbol(
      o.name,
      modelDetail(o, report),
      vscode.SymbolKind.Module,
      range(o.offset, o.length),
      range(o.offset, Math.min(o.length, 1)),
    );
    root.children = o.layers.map(symbol);
    return [root];
  }

  dispose(): void {
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.registration?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** The innermost layer whose object contains the position. */
function layerAt(doc: vscode.TextDocument, pos: vscode.Position): OutlineLayer | undefined {
  const at = doc.offsetAt(pos);
  return flatLayers(outlineOf(doc)).find(l => at >= l.offset && at <= l.offset + l.length);
}

const outlines = new WeakMap<vscode.TextDocument, { version: number; outline: ModelOutline | undefined }>();

/** The document's outline, parsed once per version (selection moves and lens requests ask often). */
export function outlineOf(doc: vscode.TextDocument): ModelOutline | undefined {
  const hit = outlines.get(doc);
  if (hit && hit.version === doc.version) return hit.outline;
  let outline: ModelOutline | undefined;
  try {
    outline = outlineModel(doc.getText());
  } catch {
    outline = undefined;
  }
  outlines.set(doc, { version: doc.version, outline });
  return outline;
}
