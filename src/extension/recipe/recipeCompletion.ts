// Completion and hover in YAML recipes, with no other extension: keys and enum values from the schema,
// layer names under `layers:` from the model.json the recipe names.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { escapeMarkdown } from '../markdown';
import { parseRecipe, schemaAt } from '../../engine/recipe';
import { checkModelJson } from '../modelFile';
import { yamlContext } from './yamlContext';
import { describe } from './schemaInfo';

async function modelLayers(doc: vscode.TextDocument): Promise<{ name: string; className: string }[]> {
  const m = /^\s*model\s*:\s*["']?([^"'#\n]+?)["']?\s*(#.*)?$/m.exec(doc.getText());
  let model = m?.[1];
  if (!model) {
    const v = parseRecipe(doc.getText(), doc.fileName).source.value as { model?: unknown } | undefined;
    model = typeof v?.model === 'string' ? v.model : undefined;
  }
  if (!model) return [];
  const check = await checkModelJson(path.resolve(path.dirname(doc.fileName), model));
  return check.ok ? check.layers.filter(l => l.prunable) : [];
}

export class RecipeCompletionProvider implements vscode.CompletionItemProvider, vscode.HoverProvider {
  async provideCompletionItems(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.CompletionItem[]> {
    if (doc.languageId === 'json') return []; // JSON recipes: VS Code's JSON support + jsonValidation
    const ctx = yamlContext(doc, pos);
    if (ctx.valueOf !== undefined) {
      const node = schemaAt([...ctx.parents, ctx.valueOf]);
      const values = node?.enum ?? (node?.type === 'boolean' ? [true, false] : []);
      return values.map((v, i) => {
        const item = new vscode.CompletionItem(String(v), vscode.CompletionItemKind.EnumMember);
        item.sortText = String(i).padStart(3, '0');
        if (v === node?.default) item.detail = 'default';
        return item;
      });
    }
    if (ctx.parents.length === 1 && ctx.parents[0] === 'layers') {
      const present = new Set(Object.keys(parseRecipe(doc.getText(), doc.fileName).recipe.layers ?? {}));
      return (await modelLayers(doc))
        .filter(l => !present.has(l.name))
        .map(l => {
          const item = new vscode.CompletionItem(l.name, vscode.CompletionItemKind.Field);
          item.detail = `${l.className} layer of the model`;
          item.insertText = new vscode.SnippetString(`${l.name}: { \${1|sparsity: 0.5,exclude: true|} }`);
          return item;
        });
    }
    const node = schemaAt(ctx.parents);
    const props = node?.properties ?? {};
    const existing = siblingKeys(doc, pos);
    return Object.entries(props)
      .filter(([k]) => !existing.has(k) && k !== '$schema')
      .map(([k, p]) => {
        const item = new vscode.CompletionItem(k, vscode.CompletionItemKind.Property);
        const child = schemaAt([...ctx.parents, k]);
        const doc_ = describe(child ?? p);
        if (doc_) item.documentation = new vscode.MarkdownString(doc_);
        const isBlock =
          child?.type === 'object' || (Array.isArray(child?.type) && child.type.includes('object') && !child.type.includes('string'));
        item.insertText = isBlock ? new vscode.SnippetString(`${k}:\n  $0`) : new vscode.SnippetString(`${k}: $0`);
        if (child?.enum) item.command = { command: 'editor.action.triggerSuggest', title: 'values' };
        return item;
      });
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    if (doc.languageId === 'json') return undefined;
    const ctx = yamlContext(doc, pos);
    if (!ctx.keyAt) return undefined;
    const range = new vscode.Range(ctx.keyAt.line, ctx.keyAt.start, ctx.keyAt.line, ctx.keyAt.end);
    if (ctx.parents.length === 1 && ctx.parents[0] === 'layers') {
      const layer = (await modelLayers(doc)).find(l => l.name === ctx.keyAt!.key);
      return layer
        ? new vscode.Hover(
            new vscode.MarkdownString(`**${escapeMarkdown(layer.name)}** — ${escapeMarkdown(layer.className)} layer of the model`),
            range,
          )
        : undefined;
    }
    const text = describe(schemaAt([...ctx.parents, ctx.keyAt.key]));
    return text ? new vscode.Hover(new vscode.MarkdownString(text), range) : undefined;
  }
}

/** Keys already present at the cursor's indentation in the same block. */
function siblingKeys(doc: vscode.TextDocument, pos: vscode.Position): Set<string> {
  const indent = doc.lineAt(pos.line).firstNonWhitespaceCharacterIndex;
  const keys = new Set<string>();
  const scan = (step: 1 | -1) => {
    for (let i = pos.line + step; i >= 0 && i < doc.lineCount; i += step) {
      const t = doc.lineAt(i).text;
      if (!t.trim() || t.trimStart().startsWith('#')) continue;
      const ind = t.length - t.trimStart().length;
      if (ind < indent) break;
      if (ind === indent) {
        const k = /^\s*("?)([^"#:\s][^"#:]*?)\1\s*:/.exec(t)?.[2];
        if (k) keys.add(k);
      }
    }
  };
  scan(-1);
  scan(1);
  return keys;
}
