// CodeLens and hover above each prunable layer: in model.json (at the layer's `"name": …`), in its formatted view,
// and in a recipe (at each key under `layers:`), from the last results of that model. When several layers share a
// line (a converter's one-line model.json), one summary lens replaces the joined, truncated per-layer ones.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { escapeMarkdown } from './markdown';
import type { LayerResult, PruneReport } from '../protocol';
import { fmtCount, fmtNum, fmtPct } from './format';
import { flatLayers } from './modelOutline';
import { outlineOf } from './modelSymbols';
import { MODEL_VIEW_SCHEME, SHOW_MODEL_VIEW_COMMAND, modelPathOf } from './modelView';
import { parseRecipe, type Recipe } from '../engine/recipe';
import { recipeModelPath } from './recipeLookup';
import type { ResultsStore } from './resultsStore';

export const REVEAL_LAYER_COMMAND = 'woodfisher.revealLayer';

interface LayerSpot {
  name: string;
  range: vscode.Range;
  prunable: boolean;
  className?: string;
}

export const MODEL_SELECTOR: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/model.json' }, { scheme: MODEL_VIEW_SCHEME }];

/** Layers of a model.json (or its formatted view) or a recipe document, and the model they belong to. */
export function layerSpots(doc: vscode.TextDocument): { modelPath: string; spots: LayerSpot[] } | undefined {
  const modelPath = modelPathOf(doc.uri);
  if (modelPath) {
    const spots = flatLayers(outlineOf(doc))
      .filter(l => l.prunable)
      .map(l => ({
        name: l.name,
        className: l.className,
        prunable: true,
        range: new vscode.Range(doc.positionAt(l.nameOffset), doc.positionAt(l.nameOffset + l.nameLength)),
      }));
    return { modelPath, spots };
  }
  const { source } = parseRecipe(doc.getText(), doc.fileName);
  const value = (source.value && typeof source.value === 'object' ? source.value : {}) as Recipe;
  const recipeModel = recipeModelPath(value, doc.uri.fsPath);
  if (!recipeModel) return undefined;
  const spots: LayerSpot[] = [];
  for (const [pointer, span] of source.spans) {
    const m = /^\/layers\/([^/]+)$/.exec(pointer);
    if (!m || !span.key) continue;
    const name = m[1].replace(/~1/g, '/').replace(/~0/g, '~');
    spots.push({ name, prunable: true, range: new vscode.Range(doc.positionAt(span.key[0]), doc.positionAt(span.key[1])) });
  }
  return { modelPath: recipeModel, spots };
}

export function lensTitle(name: string, r: LayerResult | undefined): string {
  if (!r) return `${name} · not pruned yet`;
  if (r.excluded) return `${name} · sparsity 0% · excluded (left dense)`;
  if (r.units)
    return `${name} · ${r.units.kept}/${r.units.of} units kept · ${fmtCount(r.pruned)} of ${fmtCount(r.weights)} weights removed`;
  return `${name} · sparsity ${(r.sparsity * 100).toFixed(1)}% · threshold ${fmtNum(r.threshold)} · ${fmtCount(r.pruned)} of ${fmtCount(r.weights)} pruned`;
}

/** The lens of a file whose layers share lines: the run in a phrase short enough for an editor beside the panel. */
export function summaryTitle(report: PruneReport | undefined): string {
  if (!report) return 'not pruned yet — Prune with WoodFisher';
  const st = report.structure;
  const parts = st
    ? [`${st.units.total - st.units.removed}/${st.units.total} units kept · FLOPs ${fmtPct(st.after.flops / st.before.flops)}`]
    : [`${fmtPct(report.sparsity.achieved)} pruned`];
  if (report.before && report.after) parts.push(`accuracy ${fmtPct(report.before.accuracy)} → ${fmtPct(report.after.accuracy)}`);
  return parts.join(' · ');
}

/** Per-layer lenses only when each layer has a line of its own. */
export function layersShareLines(lines: number[]): boolean {
  return new Set(lines).size < lines.length;
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
    const modelUri = vscode.Uri.file(found.modelPath);
    const prune: Omit<vscode.Command, 'title'> = { command: 'woodfisher.prune', arguments: [modelUri], tooltip: 'Prune with WoodFisher' };
    if (layersShareLines(found.spots.map(s => s.range.start.line))) {
      const at = found.spots[0].range;
      const n = found.spots.length;
      const summary: vscode.Command = stored
        ? {
            title: summaryTitle(stored.report),
            command: REVEAL_LAYER_COMMAND,
            arguments: [found.modelPath],
            tooltip: `WoodFisher: ${fmtCount(stored.report.sparsity.pruned)} of ${fmtCount(stored.report.sparsity.weights)} prunable weights pruned — show the panel`,
          }
        : { title: summaryTitle(undefined), ...prune };
      return [
        new vscode.CodeLens(at, summary),
        new vscode.CodeLens(at, {
          title: `${n} layer${n === 1 ? '' : 's'}`,
          command: 'outline.focus',
          tooltip: 'Each layer with its sparsity and threshold in the Outline (also: breadcrumbs, Ctrl+Shift+O)',
        }),
        new vscode.CodeLens(at, {
          title: 'formatted view',
          command: SHOW_MODEL_VIEW_COMMAND,
          arguments: [modelUri],
          tooltip: 'A read-only, pretty-printed view with a lens per layer (model.json stays as it is)',
        }),
      ];
    }
    const byName = new Map(stored?.report.layers.map(l => [l.name, l]) ?? []);
    return found.spots.map(s => {
      const r = byName.get(s.name);
      const command: vscode.Command = r
        ? {
            title: lensTitle(s.name, r),
            command: REVEAL_LAYER_COMMAND,
            arguments: [found.modelPath, s.name],
            tooltip: 'Show this layer in the WoodFisher panel',
          }
        : { title: lensTitle(s.name, r), ...prune };
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
    md.appendMarkdown(
      `**${escapeMarkdown(spot.name)}** (${escapeMarkdown(r.kind)}) — WoodFisher, ${escapeMarkdown(path.basename(path.dirname(stored!.reportPath)))}\n\n`,
    );
    md.appendMarkdown(
      [
        `| | |`,
        `|---|---|`,
        `| pruned | ${r.pruned.toLocaleString('en-US')} of ${r.weights.toLocaleString('en-US')} (${(r.sparsity * 100).toFixed(2)}%) |`,
        `| threshold | ${fmtNum(r.threshold)} |`,
        `| saliency min / median / max | ${fmtNum(r.saliency.min)} / ${fmtNum(r.saliency.median)} / ${fmtNum(r.saliency.max)} |`,
        `| Fisher blocks | ${r.blocks}${r.form ? ` (${r.form})` : ''} |`,
        ...(r.excluded ? ['| excluded | left dense |'] : []),
      ].join('\n'),
    );
    return new vscode.Hover(md, spot.range);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function safeSpots(doc: vscode.TextDocument) {
  try {
    return layerSpots(doc);
  } catch {
    return undefined;
  }
}
