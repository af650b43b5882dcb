// After a run, a formatted model.json carries one CodeLens per prunable layer with that layer's sparsity (one-line files: views.test.ts).
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineSuite, activate, assert, workspaceRoot, scratch, copyModel, prune, waitFor } from './util';

export function registerCodeLensSuite(root: Mocha.Suite): void {
  defineSuite(root, 'CodeLens on model.json', s => {
    s.suiteSetup(async () => {
      await activate();
    });

    s.test(
      'one lens per prunable layer (fc1, fc2, fc3) with its sparsity after a run, in a formatted model.json and in its recipe',
      async () => {
        const ws = workspaceRoot();
        const dir = scratch('lens');
        const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
        // formatted (one layer per block), as a user who pretty-printed it: one lens per layer on its own line
        fs.writeFileSync(model, JSON.stringify(JSON.parse(fs.readFileSync(model, 'utf8')), null, 2));
        const uri = vscode.Uri.file(model);
        const r = await prune(uri, {
          noPrompt: true,
          sparsity: 0.9,
          samples: 64,
          outDir: path.join(dir, 'out'),
          dataPath: path.join(ws, 'data', 'calib-x.npy'),
          labelsPath: path.join(ws, 'data', 'calib-y.npy'),
        });
        assert(r && r.status === 'done', `the run did not finish: ${JSON.stringify(r && { status: r.status, error: r.error })}`);
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
        const layers = ['fc1', 'fc2', 'fc3'];
        let titles: string[] = [];
        await waitFor(
          'sparsity CodeLenses for fc1, fc2, fc3',
          async () => {
            const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
            titles = lenses.map(l => l.command?.title ?? '').filter(t => /sparsity/i.test(t));
            return layers.every(n => titles.some(t => t.includes(n))) ? titles : undefined;
          },
          15_000,
        ).catch(e => {
          throw new Error(`${(e as Error).message}; sparsity lenses: ${JSON.stringify(titles)}`);
        });
        const lines = new Set(
          ((await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? []).map(
            l => l.range.start.line,
          ),
        );
        assert(lines.size === layers.length, `per-layer lenses should sit on ${layers.length} lines, not ${lines.size}`);
        assert(
          titles.length === layers.length,
          `expected ${layers.length} sparsity lenses (one per prunable layer), got ${titles.length}: ${JSON.stringify(titles)}`,
        );
        for (const n of layers) {
          assert(
            titles.filter(t => new RegExp(`\\b${n}\\b`).test(t)).length === 1,
            `expected exactly one lens naming ${n}: ${JSON.stringify(titles)}`,
          );
        }
        // the recipe naming this model carries the same lenses above its `layers:` entries, and hovers explain them
        const recipe = path.join(path.dirname(model), 'woodfisher.yaml');
        fs.writeFileSync(recipe, ['model: ./model.json', 'sparsity: 0.9', 'layers:', '  fc2:', '    sparsity: 0.5', ''].join('\n'));
        const rUri = vscode.Uri.file(recipe);
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(rUri), { preview: false });
        const rTitles = await waitFor(
          'a sparsity lens above fc2 in the recipe',
          async () => {
            const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', rUri, 100)) ?? [];
            const t = lenses.filter(l => l.range.start.line === 3).map(l => l.command?.title ?? '');
            return t.some(x => /^fc2 · sparsity/.test(x)) ? t : undefined;
          },
          15_000,
        );
        assert(rTitles.length === 1, `lenses on the fc2 line: ${JSON.stringify(rTitles)}`);
        const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', rUri, new vscode.Position(3, 3));
        const text = hovers.flatMap(h => h.contents.map(c => (typeof c === 'string' ? c : c.value))).join('\n');
        assert(/fc2/.test(text) && /saliency/i.test(text), `hover on fc2: ${text}`);
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      },
    );

    s.test(
      'structure: neurons from a recipe: lenses show units kept per layer; the panel snapshot carries params, FLOPs and latency',
      async () => {
        const ws = workspaceRoot();
        const dir = scratch('lens-struct');
        const model = copyModel(path.join(ws, 'cnn'), path.join(dir, 'model'));
        fs.writeFileSync(model, JSON.stringify(JSON.parse(fs.readFileSync(model, 'utf8')), null, 2));
        const recipe = path.join(dir, 'model', 'woodfisher.yaml');
        fs.writeFileSync(
          recipe,
          [
            'model: ./model.json',
            `data: { inputs: ${JSON.stringify(path.join(ws, 'data', 'calib-x.npy'))}, labels: ${JSON.stringify(path.join(ws, 'data', 'calib-y.npy'))} }`,
            'samples: 64',
            'structure: neurons',
            'sparsity: 0.5',
            'output: ../out',
            '',
          ].join('\n'),
        );
        const uri = vscode.Uri.file(model);
        const r = await prune(uri, { noPrompt: true, recipePath: recipe });
        assert(r && r.status === 'done', `the run did not finish: ${JSON.stringify(r && { status: r.status, error: r.error })}`);
        const report = r.report!;
        assert(
          report.structure !== undefined && report.structure.after.flops < report.structure.before.flops,
          'a structured report with fewer FLOPs',
        );
        const saved = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'model.json'), 'utf8'));
        const conv = saved.modelTopology.config.layers.find((l: { config: { name: string } }) => l.config.name === 'conv1');
        assert(conv.config.filters === 4, `conv1 keeps 4 of 8 filters in the written model, has ${conv.config.filters}`);
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
        const titles = await waitFor(
          'units lenses for conv1 and fc',
          async () => {
            const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
            const t = lenses.map(l => l.command?.title ?? '').filter(x => /units kept/.test(x));
            return t.length === 2 ? t : undefined;
          },
          15_000,
        );
        assert(
          titles.some(t => /^conv1 · 4\/8 units kept/.test(t)),
          `conv1 lens: ${JSON.stringify(titles)}`,
        );
        assert(
          titles.some(t => /^fc · 10\/10 units kept/.test(t)),
          `fc lens: ${JSON.stringify(titles)}`,
        );
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      },
    );
  });
}
