// A read-only, pretty-printed view of a model.json (a TextDocumentContentProvider on its own scheme): converters
// write the file on one line; this shows one layer per block, with the per-layer lenses and the outline, and
// never touches the user's file. The view follows the file: it refreshes when model.json changes.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../engine/report/bytes';
import { isModelJsonPath } from './modelFile';
import { readInputText } from '../engine/files';
import { prettyJson } from './modelOutline';

export const MODEL_VIEW_SCHEME = 'woodfisher-model';
export const SHOW_MODEL_VIEW_COMMAND = 'woodfisher.showModelView';
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024; // topology + manifest only; weights live in the shards

/** The view's uri: `<folder>/model (formatted).json`, the model's own path in the query. */
export function modelViewUri(modelPath: string): vscode.Uri {
  const shown = path.join(path.dirname(modelPath), `${path.basename(modelPath, '.json')} (formatted).json`);
  return vscode.Uri.from({ scheme: MODEL_VIEW_SCHEME, path: vscode.Uri.file(shown).path, query: modelPath });
}

/** The model.json a document stands for: the file itself, or the one a formatted view shows. */
export function modelPathOf(uri: vscode.Uri): string | undefined {
  if (uri.scheme === MODEL_VIEW_SCHEME) return uri.query || undefined;
  if (uri.scheme === 'file' && isModelJsonPath(uri.fsPath)) return uri.fsPath;
  return undefined;
}

export class ModelViewProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly watchers = new Map<string, vscode.Disposable>();
  private readonly closing = vscode.workspace.onDidCloseTextDocument(d => {
    this.watchers.get(d.uri.toString())?.dispose();
    this.watchers.delete(d.uri.toString());
  });

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const modelPath = modelPathOf(uri);
    if (!modelPath) return '// not a model.json\n';
    this.watch(uri, modelPath);
    try {
      const { size } = await fs.stat(modelPath);
      if (size > MAX_MODEL_JSON_BYTES) return `// ${path.basename(modelPath)} is ${formatBytes(size)}: too large to show formatted.\n`;
      // the open editor's text when it has unsaved changes, else the file
      const open = vscode.workspace.textDocuments.find(d => d.uri.scheme === 'file' && d.uri.fsPath === modelPath);
      const text = open?.getText() ?? (await readInputText(modelPath, 'Model file', MAX_MODEL_JSON_BYTES, 'MODEL_FORMAT'));
      return prettyJson(JSON.parse(text));
    } catch (e) {
      return `// Cannot show ${path.basename(modelPath)} formatted: ${e instanceof SyntaxError ? 'it is not valid JSON' : (e as Error).message}.\n`;
    }
  }

  private watch(uri: vscode.Uri, modelPath: string): void {
    if (this.watchers.has(uri.toString())) return;
    const w = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(modelPath)), path.basename(modelPath)),
    );
    const fire = () => this.changed.fire(uri);
    this.watchers.set(
      uri.toString(),
      vscode.Disposable.from(
        w,
        w.onDidChange(fire),
        w.onDidCreate(fire),
        vscode.workspace.onDidChangeTextDocument(e => {
          if (e.document.uri.fsPath === modelPath && e.document.uri.scheme === 'file') fire();
        }),
      ),
    );
  }

  dispose(): void {
    this.closing.dispose();
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
    this.changed.dispose();
  }
}

/** `woodfisher.showModelView (uri?)`: opens the formatted, read-only view of a model.json beside nothing else. */
export async function showModelViewCommand(arg?: unknown): Promise<vscode.TextEditor | undefined> {
  const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  const modelPath = uri && modelPathOf(uri);
  if (!modelPath) {
    void vscode.window.showInformationMessage('WoodFisher: open a model.json first.');
    return undefined;
  }
  const doc = await vscode.workspace.openTextDocument(modelViewUri(modelPath));
  if (doc.languageId !== 'json') await vscode.languages.setTextDocumentLanguage(doc, 'json');
  return vscode.window.showTextDocument(doc, { preview: false });
}
