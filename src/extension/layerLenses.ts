// CodeLens and hover above each prunable layer: in model.json (at the layer's `"name": …`) and in a recipe
// (at each key under `layers:`), from the last results of that model.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LayerResult } from '../protocol';
import { isModelJsonPath, locateLayers } from './modelFile';
import { parseRecipe, recipeModelPath, type Recipe } from './recipeLookup';
import type { ResultsStore } from './resultsStore';

export const REVEAL_LAYER_COMMAND = 'woodfisher.revealLayer';

interface LayerSpot { name: string; range: vscode.Range; prunable: boolean; className?: string }

export const MODEL_SELECTOR: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/model.json' }];

/** Layers of a model.json or a recipe document, and the model they belong to. */
export function layerSpots(doc: vscode.TextDocument): { modelPath: string; spots: LayerSpot[] } | undefined {
  const text = doc.getText();
  if (isModelJsonPath(doc.uri.fsPath)) {
    const spots = locateLayers(text).filter(l => l.prunable).map(l => ({
      name: l.name, className: l.className, prunable: true,
      range: new vscode.Range(doc.positionAt(l.offset), doc.positionAt(l.offset + l.length)),
    }));
    return { modelPath: doc.uri.fsPath, spots };
  }
  const { source } = parseRecipe(text, doc.fileName);
  const value = (source.value && typeof source.value === 'object' ? source.value : {}) as Recipe;
  const modelPath = recipeModelPath(value, doc.uri.fsPath);
  if (!modelPath) return undefined;
  const spots: LayerSpot[] = [];
  for (const [pointer, span] of source.spans) {
    const m = /^\/layers\/([^/]+)$/.exec(pointer);
    if (!m || !span.key) continue;
    const name = m[1].replace(/~1/g, '/').replace(/~0/g, '~');
    spots.push({ name, prunable: true, range: new vscode.Range(doc.positionAt(span.key[0]), doc.positionAt(span.key[1])) });
  }
  return { modelPath, spots };
}

export function lensTitle(name: string, r: LayerResult | undefined): string {
  if (!r) return `${name} · not pruned yet`;
  if (r.excluded) return `${name} · sparsity 0% · excluded (left dense)`;
  return `${name} · sparsity ${(r.sparsity * 100).toFixed(1)}% · threshold ${fmtNum(r.threshold)} · ${fmtCount(r.pruned)} of ${fmtCount(r.weights)} pruned`;
}

export function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-2 && a < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(1).replace('e+', 'e');
}

export class LayerLensProvider implements vscode.CodeLensProvider, vscode.HoverProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly results: ResultsStore) {
    results.onDidChange(() => this.changed.fire());
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const found = safeSpots(doc);
    if (!found || !found.spots.length) return [];
    const stored = await this.results.lookup(found.modelPath);
    const byName = new Map(stored?.report.layers.map(l => [l.name, l]) ?? []);
    return found.spots.map(s => {
      const r = byName.get(s.name);
      const command: vscode.Command = r
        ? { title: lensTitle(s.name, r), command: REVEAL_LAYER_COMMAND, arguments: [found.modelPath, s.name], tooltip: 'Show this layer in the WoodFisher panel' }
        : { title: lensTitle(s.name, r), command: 'woodfisher.prune', arguments: [vscode.Uri.file(found.modelPath)], tooltip: 'Prune with WoodFisher' };
      return new vscode.CodeLens(s.range, command);
    });
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const found = safeSpots(doc);
    const spot = found?.spots.find(s => s.range.contains(pos));
    if (!found || !spot) return undefined;
    const stored = await this.results.lookup(found.modelPath);
    const r = stored?.report.layers.find(l => l.name === spot.name);
    if (!r) return undefined;
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${spot.name}** (${r.kind}) — WoodFisher, ${path.basename(path.dirname(stored!.reportPath))}\n\n`);
    md.appendMarkdown([
      `| | |`, `|---|---|`,
      `| pruned | ${r.pruned.toLocaleString('en-US')} of ${r.weights.toLocaleString('en-US')} (${(r.sparsity * 100).toFixed(2)}%) |`,
      `| threshold | ${fmtNum(r.threshold)} |`,
      `| saliency min / median / max | ${fmtNum(r.saliency.min)} / ${fmtNum(r.saliency.median)} / ${fmtNum(r.saliency.max)} |`,
      `| Fisher blocks | ${r.blocks}${r.form ? ` (${r.form})` : ''} |`,
      ...(r.excluded ? ['| excluded | left dense |'] : []),
    ].join('\n'));
    return new vscode.Hover(md, spot.range);
  }

  dispose(): void { this.changed.dispose(); }
}

function safeSpots(doc: vscode.TextDocument) {
  try { return layerSpots(doc); } catch { return undefined; }
}
