// woodfisher.sweep in the real extension host: accuracy vs sparsity for two methods, run in the worker,
// written atomically as sweep.json + sweep.svg beside one folder per point.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineSuite, activate, assert, workspaceRoot, scratch, copyModel } from './util';

export function registerSweepSuite(root: Mocha.Suite): void {
  defineSuite(root, 'woodfisher.sweep', s => {
    s.suiteSetup(async () => {
      await activate();
    });

    s.test('sweeps mlpnet at two sparsities with WoodFisher and global magnitude', async () => {
      const ws = workspaceRoot();
      const dir = scratch('sweep');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const outDir = path.join(dir, 'sweep');
      const data = path.join(ws, 'data');
      // A recipe beside the copy names the calibration and evaluation data (the sweep needs labelled eval data).
      fs.writeFileSync(
        path.join(path.dirname(model), 'woodfisher.yaml'),
        [
          'model: ./model.json',
          `data: { inputs: ${JSON.stringify(path.join(data, 'calib-x.npy'))}, labels: ${JSON.stringify(path.join(data, 'calib-y.npy'))} }`,
          `eval: { inputs: ${JSON.stringify(path.join(data, 'test-x.npy'))}, labels: ${JSON.stringify(path.join(data, 'test-y.npy'))} }`,
          'samples: 64',
          'damp: 1e-6',
          'sparsity: 0.9',
          'output: ./pruned',
          '',
        ].join('\n'),
      );
      const r = await vscode.commands.executeCommand<{ status: string; error?: string }>('woodfisher.sweep', vscode.Uri.file(model), {
        noPrompt: true,
        sparsities: [0.5, 0.9],
        methods: ['woodfisher', 'global-magnitude'],
        outDir,
      });
      assert(r?.status === 'done', `expected done, got ${JSON.stringify(r)}`);
      const sweep = JSON.parse(fs.readFileSync(path.join(outDir, 'sweep.json'), 'utf8'));
      const points = sweep.points ?? sweep.results ?? [];
      assert(points.length === 4, `expected 4 points, got ${JSON.stringify(sweep).slice(0, 400)}`);
      for (const p of points) assert(p.accuracy > 0 && p.accuracy <= 1, `accuracy of a point: ${JSON.stringify(p)}`);
      assert(/<svg[\s\S]*<\/svg>\s*$/.test(fs.readFileSync(path.join(outDir, 'sweep.svg'), 'utf8')), 'sweep.svg is an SVG document');
      assert(fs.existsSync(data), 'the data folder is still there');
    });

    s.test('a gradual sweep: every point pruned on the schedule with fine-tuning, the same epochs for each method', async () => {
      const ws = workspaceRoot();
      const dir = scratch('gradual-sweep');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const outDir = path.join(dir, 'sweep');
      const data = path.join(ws, 'data');
      const r = await vscode.commands.executeCommand<{ status: string; error?: string }>('woodfisher.sweep', vscode.Uri.file(model), {
        noPrompt: true,
        gradual: true,
        epochs: 2,
        trainPath: path.join(data, 'calib-x.npy'),
        trainLabelsPath: path.join(data, 'calib-y.npy'),
        samples: 64,
        sparsities: [0.8, 0.9],
        methods: ['woodfisher', 'global-magnitude'],
        outDir,
      });
      assert(r?.status === 'done', `expected done, got ${JSON.stringify(r)}`);
      const sweep = JSON.parse(fs.readFileSync(path.join(outDir, 'sweep.json'), 'utf8'));
      assert(sweep.gradual?.epochs === 2, `sweep.json says gradual, 2 epochs: ${JSON.stringify(sweep.gradual)}`);
      assert(sweep.points.length === 4, `expected 4 points, got ${sweep.points.length}`);
      for (const p of sweep.points) {
        const report = JSON.parse(fs.readFileSync(path.join(p.output, 'report.json'), 'utf8'));
        assert(
          report.gradual?.epochs.length === 2 && report.gradual.finished,
          `${p.method} at ${p.sparsity}: a finished 2-epoch gradual run`,
        );
        assert(
          Math.abs(report.sparsity.achieved - p.sparsity) < 1e-3,
          `${p.method}: achieved ${report.sparsity.achieved} for ${p.sparsity}`,
        );
        assert(p.accuracy > 0.5 && p.accuracy === report.after.accuracy, `${p.method}: the point's accuracy is its run's: ${p.accuracy}`);
        assert(report.size?.output.gzip > 0 && p.size?.gzip === report.size.output.gzip, `${p.method}: the point's size is its run's`);
        assert(!fs.existsSync(path.join(p.output, 'checkpoint.json')), 'no checkpoints inside a sweep');
      }
      assert(/gradual, 2 epochs/.test(fs.readFileSync(path.join(outDir, 'sweep.svg'), 'utf8')), 'sweep.svg names the gradual sweep');
    });
  });
}
