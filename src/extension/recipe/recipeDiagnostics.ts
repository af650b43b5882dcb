// Problems in recipes, as you type: schema errors and syntax (engine's parseRecipe), unknown layers
// (checkRecipeAgainstModel against the real model.json), missing files — each at the offending range.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkRecipeAgainstModel, parseRecipe, rangeOfPath } from '../../engine/recipe';
import type { RecipeDiagnostic, SourceRange } from '../../engine/recipe';
import { checkModelJson } from '../modelFile';
import { isRecipeDocument } from './recipeDocuments';

/** 1-based, end-exclusive source range → vscode.Range (0-based). */
export function toRange(r: SourceRange): vscode.Range {
  const l = Math.max(0, r.line - 1), c = Math.max(0, r.column - 1);
  const el = Math.max(l, r.endLine - 1), ec = Math.max(0, r.endColumn - 1);
  return new vscode.Range(l, c, el, el === l ? Math.max(ec, c) : ec);
}

export function toDiagnostic(d: RecipeDiagnostic): vscode.Diagnostic {
  const diag = new vscode.Diagnostic(toRange(d), d.message, d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error);
  diag.source = 'woodfisher';
  return diag;
}

export async function recipeDiagnostics(doc: vscode.TextDocument): Promise<vscode.Diagnostic[]> {
  const text = doc.getText();
  const { recipe, diagnostics, source } = parseRecipe(text, doc.fileName);
  // JSON recipes: VS Code's JSON language service already reports syntax and schema errors (package.json's
  // jsonValidation, which also gives completion); reporting them again would show each twice. YAML has no such service
  // unless another extension adds one, so the schema goes through this extension only (no yamlValidation).
  const out = doc.languageId === 'json' ? [] : diagnostics.map(toDiagnostic);
  if (source.syntaxErrors.length) return out;
  const dir = path.dirname(doc.fileName);
  const errAt = (pointer: string, message: string) => {
    const d = new vscode.Diagnostic(toRange(rangeOfPath(source, pointer)), message, vscode.DiagnosticSeverity.Error);
    d.source = 'woodfisher';
    out.push(d);
  };
  const fileExists = (p: string) => { try { return fs.statSync(p).isFile(); } catch { return false; } };

  if (typeof recipe.model === 'string') {
    const modelPath = path.resolve(dir, recipe.model);
    if (!fileExists(modelPath)) errAt('/model', `model not found: ${modelPath}`);
    else {
      const check = await checkModelJson(modelPath);
      if (!check.ok) errAt('/model', check.message);
      else out.push(...checkRecipeAgainstModel(recipe, check.layers.filter(l => l.prunable).map(l => l.name), source, check.layers.map(l => l.name)).map(toDiagnostic));
    }
  }
  for (const key of ['data', 'eval'] as const) {
    const v = recipe[key];
    if (typeof v === 'string') { if (!fileExists(path.resolve(dir, v))) errAt(`/${key}`, `file not found: ${path.resolve(dir, v)}`); }
    else if (v && typeof v === 'object') {
      for (const part of ['inputs', 'labels'] as const) {
        const p = v[part];
        if (typeof p === 'string' && !fileExists(path.resolve(dir, p))) errAt(`/${key}/${part}`, `file not found: ${path.resolve(dir, p)}`);
      }
    }
  }
  if (typeof recipe.output === 'string' && typeof recipe.model === 'string'
    && path.resolve(dir, recipe.output) === path.dirname(path.resolve(dir, recipe.model))) {
    errAt('/output', 'output must not be the model\'s own folder (the input model is never modified)');
  }
  return out;
}

/** Keeps a DiagnosticCollection up to date for open recipe documents (debounced while typing). */
export function registerRecipeDiagnostics(context: vscode.ExtensionContext): vscode.DiagnosticCollection {
  const collection = vscode.languages.createDiagnosticCollection('woodfisher');
  const timers = new Map<string, NodeJS.Timeout>();
  const refresh = (doc: vscode.TextDocument, delay = 0) => {
    if (!isRecipeDocument(doc)) return;
    const k = doc.uri.toString();
    clearTimeout(timers.get(k));
    timers.set(k, setTimeout(async () => {
      timers.delete(k);
      try { collection.set(doc.uri, await recipeDiagnostics(doc)); } catch { collection.delete(doc.uri); }
    }, delay));
  };
  context.subscriptions.push(
    collection,
    vscode.workspace.onDidOpenTextDocument(d => refresh(d)),
    vscode.workspace.onDidChangeTextDocument(e => refresh(e.document, 300)),
    vscode.workspace.onDidSaveTextDocument(d => refresh(d)),
    vscode.workspace.onDidCloseTextDocument(d => collection.delete(d.uri)),
    { dispose: () => { for (const t of timers.values()) clearTimeout(t); } },
  );
  for (const d of vscode.workspace.textDocuments) refresh(d);
  return collection;
}
