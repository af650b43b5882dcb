// After a run, model.json carries one CodeLens per prunable layer with that layer's sparsity.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as path from 'node:path';
import { defineSuite, activate, assert, workspaceRoot, scratch, copyModel, prune, waitFor } from './util';

export function registerCodeLensSuite(root: Mocha.Suite): void {
  defineSuite(root, 'CodeLens on model.json', s => {
    s.suiteSetup(async () => { await activate(); });

    s.test('one lens per prunable layer (fc1, fc2, fc3) with its sparsity after a run', async () => {
      const ws = workspaceRoot();
      const dir = scratch('lens');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const uri = vscode.Uri.file(model);
      const r = await prune(uri, {
        noPrompt: true, sparsity: 0.9, samples: 64, outDir: path.join(dir, 'out'),
        dataPath: path.join(ws, 'data', 'calib-x.npy'), labelsPath: path.join(ws, 'data', 'calib-y.npy'),
      });
      assert(r && r.status === 'done', `the run did not finish: ${JSON.stringify(r && { status: r.status, error: r.error })}`);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      const layers = ['fc1', 'fc2', 'fc3'];
      let titles: string[] = [];
      await waitFor('sparsity CodeLenses for fc1, fc2, fc3', async () => {
        const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100) ?? [];
        titles = lenses.map(l => l.command?.title ?? '').filter(t => /sparsity/i.test(t));
        return layers.every(n => titles.some(t => t.includes(n))) ? titles : undefined;
      }, 15_000).catch(e => { throw new Error(`${(e as Error).message}; sparsity lenses: ${JSON.stringify(titles)}`); });
      assert(titles.length === layers.length, `expected ${layers.length} sparsity lenses (one per prunable layer), got ${titles.length}: ${JSON.stringify(titles)}`);
      for (const n of layers) {
        assert(titles.filter(t => new RegExp(`\\b${n}\\b`).test(t)).length === 1, `expected exactly one lens naming ${n}: ${JSON.stringify(titles)}`);
      }
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });
  });
}
