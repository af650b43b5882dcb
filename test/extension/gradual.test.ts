// woodfisher.gradualPrune in the real extension host: a short gradual run that ends with the per-layer CodeLenses, and
// a cancel that keeps the last checkpoint, which a second run resumes.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineSuite, activate, assert, workspaceRoot, scratch, copyModel, sleep, waitFor } from './util';

interface GradualResult {
  status: string;
  error?: string;
  outDir?: string;
  report?: { sparsity: { achieved: number }; gradual?: { epochs: unknown[]; finished: boolean } };
}

export function registerGradualSuite(root: Mocha.Suite): void {
  defineSuite(root, 'woodfisher.gradualPrune', s => {
    s.suiteSetup(async () => {
      await activate();
    });
    const run = (model: string, opts: object) =>
      Promise.resolve(
        vscode.commands.executeCommand<GradualResult>('woodfisher.gradualPrune', vscode.Uri.file(model), { noPrompt: true, ...opts }),
      );

    s.test('prunes gradually to the target, reports every epoch, and the model gets its sparsity CodeLenses', async () => {
      const ws = workspaceRoot();
      const dir = scratch('gradual');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      fs.writeFileSync(model, JSON.stringify(JSON.parse(fs.readFileSync(model, 'utf8')), null, 2));
      const outDir = path.join(dir, 'out');
      const r = await run(model, {
        sparsity: 0.8,
        epochs: 2,
        method: 'global-magnitude',
        batchSize: 100,
        lr: 0.05,
        outDir,
        trainPath: path.join(ws, 'data', 'calib-x.npy'),
        trainLabelsPath: path.join(ws, 'data', 'calib-y.npy'),
        evalPath: path.join(ws, 'data', 'test-x.npy'),
        evalLabelsPath: path.join(ws, 'data', 'test-y.npy'),
      });
      assert(r?.status === 'done', `expected done, got ${JSON.stringify(r && { status: r.status, error: r.error })}`);
      assert(Math.abs(r.report!.sparsity.achieved - 0.8) < 1e-3, `achieved ${r.report!.sparsity.achieved}`);
      assert(r.report!.gradual?.epochs.length === 2 && r.report!.gradual.finished, 'two epochs in the report');
      assert(!fs.existsSync(path.join(outDir, 'checkpoint.json')), 'the finished output holds no checkpoint');
      const uri = vscode.Uri.file(model);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      await waitFor(
        'sparsity CodeLenses for fc1, fc2, fc3',
        async () => {
          const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
          const titles = lenses.map(l => l.command?.title ?? '').filter(t => /sparsity/i.test(t));
          return ['fc1', 'fc2', 'fc3'].every(n => titles.some(t => t.includes(n))) ? titles : undefined;
        },
        15_000,
      );
    });

    s.test('cancel keeps the last checkpoint (a loadable model); the next run resumes it to the end', async () => {
      const ws = workspaceRoot();
      const dir = scratch('gradual-cancel');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const outDir = path.join(dir, 'out');
      const opts = {
        sparsity: 0.8,
        epochs: 12,
        method: 'global-magnitude',
        batchSize: 100,
        lr: 0.05,
        outDir,
        trainPath: path.join(ws, 'data', 'calib-x.npy'),
        trainLabelsPath: path.join(ws, 'data', 'calib-y.npy'),
      };
      const running = run(model, opts);
      await waitFor('the first checkpoint', async () => (fs.existsSync(path.join(outDir, 'checkpoint.json')) ? true : undefined), 90_000);
      await vscode.commands.executeCommand('woodfisher.cancel', vscode.Uri.file(model));
      const r = await running;
      assert(r?.status === 'cancelled', `expected cancelled, got ${JSON.stringify(r)}`);
      const json = JSON.parse(fs.readFileSync(path.join(outDir, 'model.json'), 'utf8'));
      assert(
        json.format === 'layers-model' && fs.existsSync(path.join(outDir, json.weightsManifest[0].paths[0])),
        'the checkpoint is a complete model',
      );
      const done = JSON.parse(fs.readFileSync(path.join(outDir, 'checkpoint.json'), 'utf8')).epoch as number;
      assert(done >= 1 && done < 12, `checkpoint after epoch ${done}`);
      await sleep(1500); // the cancelled worker is gone (SIGKILL after 500 ms at the latest) and with it its lock on the folder
      const resumed = await run(model, { ...opts, resume: true });
      assert(resumed?.status === 'done', `the resumed run: ${JSON.stringify(resumed && { status: resumed.status, error: resumed.error })}`);
      assert(resumed.report!.gradual!.epochs.length === 12, 'the resumed run continued the same history to epoch 12');
    });

    s.test('Prune on a model whose recipe has a gradual: section refuses in one line (Prune is one-shot), writing nothing', async () => {
      const ws = workspaceRoot();
      const dir = scratch('gradual-recipe-prune');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      fs.writeFileSync(
        path.join(path.dirname(model), 'woodfisher.yaml'),
        [
          'model: ./model.json',
          `data: ${JSON.stringify(path.join(ws, 'data', 'train.npz'))}`,
          'sparsity: 0.9',
          'output: ./pruned',
          'gradual:',
          '  epochs: 2',
          '',
        ].join('\n'),
      );
      const r = await vscode.commands.executeCommand<GradualResult>('woodfisher.prune', vscode.Uri.file(model), { noPrompt: true });
      assert(
        r?.status === 'error' &&
          /woodfisher\.yaml has a gradual: section, and Prune is one-shot: run it with "Gradual Prune with WoodFisher…"/.test(
            r.error ?? '',
          ),
        `expected the refusal, got ${JSON.stringify(r)}`,
      );
      assert(!fs.existsSync(path.join(path.dirname(model), 'pruned')), 'nothing written');
    });
  });
}
