// Problems in recipes, as you type: schema errors and syntax (engine's parseRecipe), unknown layers
// (checkRecipeAgainstModel against the real model.json), missing files — each at the offending range.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isInside } from '../../engine/output/claim';
import { readMarker } from '../../engine/output/marker';
import { isInWorkspace } from '../runGuard';
import { checkRecipeAgainstModel, parseRecipe, rangeOfPath } from '../../engine/recipe';
import type { RecipeDiagnostic, SourceRange } from '../../engine/recipe';
import { checkModelJson } from '../modelFile';
import { isRecipeDocument } from './recipeDocuments';
import { ownSchemaDiagnostics } from './schemaOwner';

/** 1-based, end-exclusive source range → vscode.Range (0-based). */
export function toRange(r: SourceRange): vscode.Range {
  const l = Math.max(0, r.line - 1),
    c = Math.max(0, r.column - 1);
  const el = Math.max(l, r.endLine - 1),
    ec = Math.max(0, r.endColumn - 1);
  return new vscode.Range(l, c, el, el === l ? Math.max(ec, c) : ec);
}

export function toDiagnostic(d: RecipeDiagnostic): vscode.Diagnostic {
  const diag = new vscode.Diagnostic(
    toRange(d),
    d.message,
    d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error,
  );
  diag.source = 'woodfisher';
  return diag;
}

export async function recipeDiagnostics(doc: vscode.TextDocument): Promise<vscode.Diagnostic[]> {
  const text = doc.getText();
  const { recipe, diagnostics, source } = parseRecipe(text, doc.fileName);
  // Syntax and schema errors once: JSON recipes get them from VS Code's JSON service (schemaOwner.ts), YAML from here.
  const out = ownSchemaDiagnostics(doc.languageId, doc.fileName, diagnostics).map(toDiagnostic);
  if (source.syntaxErrors.length) return out;
  const dir = path.dirname(doc.fileName);
  const errAt = (pointer: string, message: string) => {
    const d = new vscode.Diagnostic(toRange(rangeOfPath(source, pointer)), message, vscode.DiagnosticSeverity.Error);
    d.source = 'woodfisher';
    out.push(d);
  };
  const fileExists = (p: string) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };

  if (typeof recipe.model === 'string') {
    const modelPath = path.resolve(dir, recipe.model);
    if (!fileExists(modelPath)) errAt('/model', `model not found: ${modelPath}`);
    else {
      const check = await checkModelJson(modelPath);
      if (!check.ok) errAt('/model', check.message);
      else
        out.push(
          ...checkRecipeAgainstModel(
            recipe,
            check.layers.filter(l => l.prunable).map(l => l.name),
            source,
            check.layers.map(l => l.name),
          ).map(toDiagnostic),
        );
    }
  }
  for (const key of ['data', 'eval'] as const) {
    const v = recipe[key];
    if (typeof v === 'string') {
      if (!fileExists(path.resolve(dir, v))) errAt(`/${key}`, `file not found: ${path.resolve(dir, v)}`);
    } else if (v && typeof v === 'object') {
      for (const part of ['inputs', 'labels'] as const) {
        const p = v[part];
        if (typeof p === 'string' && !fileExists(path.resolve(dir, p))) errAt(`/${key}/${part}`, `file not found: ${path.resolve(dir, p)}`);
      }
    }
  }
  if (typeof recipe.output === 'string')
    out.push(
      ...outputProblems(recipe.output, dir, recipe.model).map(([severity, message]) => {
        const d = new vscode.Diagnostic(toRange(rangeOfPath(source, '/output')), message, severity);
        d.source = 'woodfisher';
        return d;
      }),
    );
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
    timers.set(
      k,
      setTimeout(async () => {
        timers.delete(k);
        try {
          collection.set(doc.uri, await recipeDiagnostics(doc));
        } catch {
          collection.delete(doc.uri);
        }
      }, delay),
    );
  };
  context.subscriptions.push(
    collection,
    vscode.workspace.onDidOpenTextDocument(d => refresh(d)),
    vscode.workspace.onDidChangeTextDocument(e => refresh(e.document, 300)),
    vscode.workspace.onDidSaveTextDocument(d => refresh(d)),
    vscode.workspace.onDidCloseTextDocument(d => collection.delete(d.uri)),
    {
      dispose: () => {
        for (const t of timers.values()) clearTimeout(t);
      },
    },
  );
  for (const d of vscode.workspace.textDocuments) refresh(d);
  return collection;
}

/** What the run would refuse or ask about the recipe's `output:` (resolved against the recipe's folder), said as you type. */
function outputProblems(output: string, dir: string, model: unknown): [vscode.DiagnosticSeverity, string][] {
  const out = path.resolve(dir, output);
  if (output.trim() === '') return [[vscode.DiagnosticSeverity.Error, "output is empty: it would mean the recipe's own folder"]];
  if (typeof model === 'string') {
    const modelDir = path.dirname(path.resolve(dir, model));
    if (isInside(modelDir, out))
      return [
        [
          vscode.DiagnosticSeverity.Error,
          `output ${out === modelDir ? 'is' : 'contains'} the model's own folder; the run refuses it (the input model is never touched)`,
        ],
      ];
    if (isInside(out, modelDir))
      return [[vscode.DiagnosticSeverity.Error, "output is inside the model's folder; the run refuses it: choose a folder beside it"]];
  }
  const problems: [vscode.DiagnosticSeverity, string][] = [];
  try {
    const st = fs.lstatSync(out);
    // One directory read, no walk: enough to say "not ours" without stalling the host on a huge folder.
    if (!st.isDirectory()) problems.push([vscode.DiagnosticSeverity.Error, `output ${out} exists and is not a folder; the run refuses it`]);
    else if (!readMarker(out) && fs.readdirSync(out).length > 0)
      problems.push([
        vscode.DiagnosticSeverity.Error,
        `output ${out} exists and was not written by WoodFisher; the run refuses to replace it`,
      ]);
  } catch {
    /* does not exist yet: fine */
  }
  if (!isInWorkspace(out))
    problems.push([
      vscode.DiagnosticSeverity.Warning,
      `output ${out} is outside the workspace folders; WoodFisher asks before writing there`,
    ]);
  return problems;
}
