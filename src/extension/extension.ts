// Entry point of the extension host: wires commands, the worker jobs, the results panel, CodeLens/hover,
// and the recipe language features. VS Code glue only — the work happens in dist/worker.js.
import * as vscode from 'vscode';
import type { FromWebviewMessage } from '../protocol';
import { JobManager } from './jobs';
import { LayerLensProvider, MODEL_SELECTOR, REVEAL_LAYER_COMMAND } from './layerLenses';
import { flatLayers, outlineModel } from './modelOutline';
import { ModelSymbolProvider } from './modelSymbols';
import { MODEL_VIEW_SCHEME, ModelViewProvider, SHOW_MODEL_VIEW_COMMAND, showModelViewCommand } from './modelView';
import { newRecipeCommand } from './newRecipe';
import { openExampleCommand } from './openExample';
import { openPrunedModelCommand, openReportCommand } from './openCommands';
import { pruneCommand, rerun } from './pruneCommand';
import { RecipeCompletionProvider } from './recipe/recipeCompletion';
import { registerRecipeDiagnostics } from './recipe/recipeDiagnostics';
import { RECIPE_SELECTOR } from './recipe/recipeDocuments';
import { Registry } from './registry';
import { PANEL_VIEW_TYPE, PanelManager } from './resultsPanel';
import { ResultsStore } from './resultsStore';
import { applyReport, emptySnapshot } from './snapshot';
import { sweepCommand } from './sweepCommand';
import { sensitivityCommand } from './sensitivityCommand';
import { setLayerOverride } from './recipeOverride';
import { saveChart } from './saveChart';
import { gradualCommand, rerunGradual } from './gradualCommand';
import { CONTEXT_KEYS } from './contextKeys';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('WoodFisher');
  const results = new ResultsStore();
  const workerPath = vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath;

  const onAction = (modelPath: string, msg: FromWebviewMessage) => {
    const uri = vscode.Uri.file(modelPath);
    switch (msg.type) {
      case 'openModel':
        void vscode.commands.executeCommand('woodfisher.openPrunedModel', uri);
        break;
      case 'openReport':
        void vscode.commands.executeCommand('woodfisher.openReport', uri);
        break;
      case 'runAgain':
        if (panels.snapshotOf(modelPath)?.mode === 'gradual')
          void rerunGradual(registry, modelPath).then(r => r ?? gradualCommand(registry, uri));
        else void rerun(registry, modelPath);
        break;
      case 'sweep':
        void vscode.commands.executeCommand('woodfisher.sweep', uri);
        break;
      case 'cancel':
        registry.jobs.cancel(modelPath);
        break;
      case 'showLayerInModel':
        void showLayerInModel(uri, msg.name);
        break;
      case 'sensitivity':
        void vscode.commands.executeCommand('woodfisher.sensitivity', uri);
        break;
      case 'setLayerOverride':
        void setLayerOverride(modelPath, msg.name, msg.sparsity);
        break;
      case 'saveChart':
        void saveChart(panels.snapshotOf(modelPath), msg);
        break;
    }
  };
  const panels = new PanelManager(context.extensionUri, onAction);
  const jobs = new JobManager(workerPath, panels, results, output); // a subscription: deactivation kills its workers
  const registry = new Registry(jobs, panels, results, context.workspaceState);
  const lenses = new LayerLensProvider(results);
  const recipeFeatures = new RecipeCompletionProvider();
  const modelView = new ModelViewProvider();
  // the cursor entering a layer (outline, breadcrumbs, Go to Symbol) highlights its row in that model's open panel
  const symbols = new ModelSymbolProvider(results, MODEL_SELECTOR, (modelPath, layer) => panels.get(modelPath)?.revealLayer(layer));

  context.subscriptions.push(
    output,
    results,
    panels,
    jobs,
    lenses,
    modelView,
    symbols,
    vscode.workspace.registerTextDocumentContentProvider(MODEL_VIEW_SCHEME, modelView),
    vscode.commands.registerCommand(SHOW_MODEL_VIEW_COMMAND, (uri?: unknown) => showModelViewCommand(uri)),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, panels),
    vscode.commands.registerCommand('woodfisher.prune', (uri?: unknown, opts?: unknown) => pruneCommand(registry, uri, opts)),
    vscode.commands.registerCommand('woodfisher.sweep', (uri?: unknown, opts?: unknown) => sweepCommand(registry, uri, opts)),
    vscode.commands.registerCommand('woodfisher.sensitivity', (uri?: unknown, opts?: unknown) => sensitivityCommand(registry, uri, opts)),
    vscode.commands.registerCommand('woodfisher.setLayerOverride', (modelPath: string, layer: string, sparsity: number) =>
      setLayerOverride(modelPath, layer, sparsity),
    ),
    vscode.commands.registerCommand('woodfisher.gradualPrune', (uri?: unknown, opts?: unknown) => gradualCommand(registry, uri, opts)),
    vscode.commands.registerCommand('woodfisher.cancel', (uri?: unknown) => {
      const model = uri instanceof vscode.Uri ? uri.fsPath : panels.activeModel();
      const n = jobs.cancel(model) || (model ? jobs.cancel() : 0);
      if (!n) void vscode.window.showInformationMessage('WoodFisher: nothing is running.');
      return n;
    }),
    vscode.commands.registerCommand('woodfisher.newRecipe', (uri?: unknown) => newRecipeCommand(uri)),
    vscode.commands.registerCommand('woodfisher.openExample', (parent?: unknown) => openExampleCommand(context.extensionUri, parent)),
    vscode.commands.registerCommand('woodfisher.openReport', (uri?: unknown) => openReportCommand(uri, panels, results)),
    vscode.commands.registerCommand('woodfisher.openPrunedModel', (uri?: unknown) => openPrunedModelCommand(uri, panels, results)),
    vscode.commands.registerCommand(REVEAL_LAYER_COMMAND, async (modelPath: string, layer?: string) => {
      const panel = panels.show(modelPath);
      const stored = await results.lookup(modelPath);
      const snap = panels.snapshotOf(modelPath);
      if (stored && (!snap || snap.status === 'idle' || !snap.layers.length)) {
        panels.update(modelPath, applyReport(snap ?? emptySnapshot(modelPath, panel.current.title), stored.report, stored.reportPath));
      }
      if (layer) panel.revealLayer(layer);
    }),
    vscode.languages.registerCodeLensProvider([...asArray(MODEL_SELECTOR), ...asArray(RECIPE_SELECTOR)], lenses),
    vscode.languages.registerHoverProvider([...asArray(MODEL_SELECTOR), ...asArray(RECIPE_SELECTOR)], lenses),
    vscode.languages.registerCompletionItemProvider(RECIPE_SELECTOR, recipeFeatures, ':', ' '),
    vscode.languages.registerHoverProvider(RECIPE_SELECTOR, recipeFeatures),
  );
  registerRecipeDiagnostics(context);
  // The palette offers Open Pruning Report / Open Pruned Model only once some model has results (package.json when-clauses).
  context.subscriptions.push(
    results.onDidChange(() => void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.hasResults, results.reports().size > 0)),
  );
}

export function deactivate(): void {
  // Nothing left to do: VS Code disposes context.subscriptions, and with them the jobs' worker processes.
}

function asArray(s: vscode.DocumentSelector): (vscode.DocumentFilter | string)[] {
  return Array.isArray(s) ? s : [s as vscode.DocumentFilter | string];
}

async function showLayerInModel(uri: vscode.Uri, name: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const spot = flatLayers(outlineModel(doc.getText())).find(l => l.name === name);
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
  if (spot) {
    const range = new vscode.Range(doc.positionAt(spot.nameOffset), doc.positionAt(spot.nameOffset + spot.nameLength));
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenter);
  }
}
