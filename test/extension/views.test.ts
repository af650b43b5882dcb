// Per-layer results where the user looks, on a converter's one-line model.json and on a 61-layer model:
// document symbols (Outline, breadcrumbs, Go to Symbol) with exact ranges and results in the detail, one summary
// lens instead of joined per-layer lenses, and the read-only formatted view with a lens per layer. model.json is
// never rewritten.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineSuite, activate, assert, workspaceRoot, scratch, copyModel, hashTree, prune, waitFor } from './util';
import { writeDeepMlp } from '../fixtures/deepMlp';

const LAYERS = ['fc1', 'fc2', 'fc3'];

async function lenses(uri: vscode.Uri, want: (titles: string[]) => boolean, what: string): Promise<vscode.CodeLens[]> {
  let last: vscode.CodeLens[] = [];
  return waitFor(
    what,
    async () => {
      last = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 1000)) ?? [];
      return want(last.map(l => l.command?.title ?? '')) ? last : undefined;
    },
    20_000,
  ).catch(e => {
    throw new Error(`${(e as Error).message}; lenses: ${JSON.stringify(last.map(l => [l.range.start.line, l.command?.title]))}`);
  });
}

/** Our model symbol (VS Code merges every provider's symbols: the JSON language's keys come too). */
async function modelSymbol(uri: vscode.Uri, name: string): Promise<vscode.DocumentSymbol | undefined> {
  const all = (await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', uri)) ?? [];
  return all.find(x => x.name === name && x.kind === vscode.SymbolKind.Module);
}

export function registerViewsSuite(root: Mocha.Suite): void {
  defineSuite(root, 'model views', s => {
    let model = '';
    let hashes: Record<string, string> = {};
    s.suiteSetup(async () => {
      await activate();
      const ws = workspaceRoot();
      const dir = scratch('views');
      model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      // a recipe beside the copy, with evaluation data so the summary has accuracy before → after
      fs.writeFileSync(
        path.join(dir, 'model', 'woodfisher.yaml'),
        [
          'model: ./model.json',
          `data: { inputs: ${JSON.stringify(path.join(ws, 'data', 'calib-x.npy'))}, labels: ${JSON.stringify(path.join(ws, 'data', 'calib-y.npy'))} }`,
          'samples: 64',
          'sparsity: 0.9',
          `eval: { inputs: ${JSON.stringify(path.join(ws, 'data', 'test-x.npy'))}, labels: ${JSON.stringify(path.join(ws, 'data', 'test-y.npy'))} }`,
          `output: ${JSON.stringify(path.join(dir, 'out'))}`,
          '',
        ].join('\n'),
      );
      hashes = hashTree(path.dirname(model));
      const r = await prune(vscode.Uri.file(model), { noPrompt: true });
      assert(r?.status === 'done', `the run did not finish: ${JSON.stringify(r && { status: r.status, error: r.error })}`);
    });

    s.test(
      'one-line model.json: a single summary lens (sparsity, accuracy before → after) plus Outline and formatted view, no joined per-layer lenses',
      async () => {
        const uri = vscode.Uri.file(model);
        const doc = await vscode.workspace.openTextDocument(uri);
        assert(doc.getText().trim().split('\n').length === 1, `the copy should be one line, has ${doc.lineCount}`);
        const found = await lenses(uri, t => t.some(x => /^\d+\.\d% pruned/.test(x)), 'the summary lens');
        const titles = found.map(l => l.command?.title ?? '');
        assert(found.length === 3, `expected 3 lenses (summary, outline, formatted view), got ${JSON.stringify(titles)}`);
        assert(/accuracy \d+\.\d% → \d+\.\d%/.test(titles[0]), `summary without accuracy: ${titles[0]}`);
        assert(
          titles[1] === '3 layers' && found[1].command?.command === 'outline.focus' && titles[2] === 'formatted view',
          JSON.stringify(titles),
        );
        assert(!titles.some(t => /^fc\d ·/.test(t)), `per-layer lenses on a one-line file: ${JSON.stringify(titles)}`);
        assert(
          found.every(l => l.range.start.line === 0),
          'all on line 1',
        );
      },
    );

    s.test(
      'document symbols list fc1–fc3 under the model with exact ranges on the one line, sparsity and threshold in the detail',
      async () => {
        const uri = vscode.Uri.file(model);
        const doc = await vscode.workspace.openTextDocument(uri);
        const top = await waitFor('symbols with results', async () => {
          const m = await modelSymbol(uri, 'mlpnet');
          return m?.children.every(c => /pruned/.test(c.detail)) ? m : undefined;
        });
        assert(/3 layers/.test(top.detail) && /accuracy/.test(top.detail), `model detail: ${top.detail}`);
        const kids = top.children;
        assert(kids.map(k => k.name).join() === LAYERS.join(), `layers: ${kids.map(k => k.name)}`);
        const report = JSON.parse(fs.readFileSync(path.join(path.dirname(path.dirname(model)), 'out', 'report.json'), 'utf8'));
        for (const k of kids) {
          assert(doc.getText(k.selectionRange) === `"name":"${k.name}"`, `selection range of ${k.name}: ${doc.getText(k.selectionRange)}`);
          const obj = JSON.parse(doc.getText(k.range));
          assert(obj.config.name === k.name && obj.class_name === 'Dense', `range of ${k.name} is not its layer object`);
          const r = report.layers.find((l: { name: string }) => l.name === k.name);
          assert(
            k.detail.includes(`${(r.sparsity * 100).toFixed(1)}% pruned`) && /threshold \S+/.test(k.detail),
            `detail of ${k.name}: ${k.detail}`,
          );
          assert(/^Dense · [\d.]+k? weights/.test(k.detail), `kind and weights in ${k.detail}`);
        }
      },
    );

    s.test(
      '"formatted view" opens a read-only pretty-printed copy with one lens per layer on its own line; model.json unchanged',
      async () => {
        const editor = await vscode.commands.executeCommand<vscode.TextEditor>('woodfisher.showModelView', vscode.Uri.file(model));
        assert(editor?.document.uri.scheme === 'woodfisher-model', `opened ${editor?.document.uri.toString()}`);
        const doc = editor.document;
        assert(doc.lineCount > 50, `formatted view has ${doc.lineCount} lines`);
        assert(
          JSON.stringify(JSON.parse(doc.getText())) === JSON.stringify(JSON.parse(fs.readFileSync(model, 'utf8'))),
          'the view differs from the model',
        );
        const found = await lenses(
          doc.uri,
          t => LAYERS.every(n => t.some(x => x.startsWith(`${n} · sparsity`))),
          'per-layer lenses in the view',
        );
        assert(
          found.length === 3 && new Set(found.map(l => l.range.start.line)).size === 3,
          `lenses: ${JSON.stringify(found.map(l => [l.range.start.line, l.command?.title]))}`,
        );
        const m = await modelSymbol(doc.uri, 'mlpnet');
        assert(m?.children.map(c => c.name).join() === LAYERS.join(), 'the view has the outline too');
        assert(JSON.stringify(hashTree(path.dirname(model))) === JSON.stringify(hashes), 'the model folder changed');
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      },
    );

    s.test('a 61-layer one-line model: 61 layer symbols, one summary lens, 61 lenses in the formatted view', async () => {
      const deep = writeDeepMlp(path.join(scratch('deep'), 'deep'), { depth: 60, width: 16 });
      const uri = vscode.Uri.file(deep);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      const kids = (await modelSymbol(uri, 'deep_mlp_60'))?.children ?? [];
      assert(
        kids.length === 61 && kids[0].name === 'dense_in' && kids[60].name === 'logits',
        `symbols: ${kids.length} ${kids.slice(0, 3).map(k => k.name)}`,
      );
      assert(
        kids.every(k => /^Dense · \S+ weights$/.test(k.detail)),
        `details before a run: ${kids[1].detail}`,
      );
      const one = await lenses(uri, t => t.length > 0, 'lenses on the deep model');
      assert(
        one.length === 3 && one[0].command?.title === 'not pruned yet — Prune with WoodFisher' && one[1].command?.title === '61 layers',
        JSON.stringify(one.map(l => l.command?.title)),
      );
      const editor = await vscode.commands.executeCommand<vscode.TextEditor>('woodfisher.showModelView', uri);
      const inView = await lenses(editor!.document.uri, t => t.length >= 61, '61 lenses in the formatted view');
      assert(inView.length === 61 && new Set(inView.map(l => l.range.start.line)).size === 61, `view lenses: ${inView.length}`);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });
  });
}
