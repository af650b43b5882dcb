// The Getting Started walkthrough as a user follows it: its steps' command links exist, *Open the Example Model*
// copies the bundled example into a new folder (never over an existing one), and *Prune with WoodFisher* on that
// model.json runs the recipe beside it as written, on the native products where the platform VSIX has them.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineSuite, activate, assert, scratch, prune, hashTree } from './util';

export function registerWalkthroughSuite(root: Mocha.Suite): void {
  defineSuite(root, 'Getting Started walkthrough', s => {
    s.test('every step links to a registered command', async () => {
      const ext = await activate();
      const walkthroughs = ext.packageJSON.contributes.walkthroughs as { steps: { id: string; description: string }[] }[];
      assert(walkthroughs?.length === 1, 'one walkthrough');
      const commands = new Set(await vscode.commands.getCommands(true));
      const links = walkthroughs[0].steps.flatMap(st => [...st.description.matchAll(/\(command:([\w.]+)/g)].map(m => m[1]));
      assert(links.length >= 4, `command links: ${links}`);
      for (const c of links) assert(commands.has(c), `step links to ${c}, which is not registered`);
    });

    s.test('Open the Example Model copies the example into a new folder; Prune runs its recipe beside it', async () => {
      await activate();
      const parent = scratch('walkthrough');
      const model = await vscode.commands.executeCommand<vscode.Uri>('woodfisher.openExample', parent);
      assert(model && model.fsPath === path.join(parent, 'woodfisher-example', 'mlpnet', 'model.json'), `opened ${model?.fsPath}`);
      assert(vscode.window.activeTextEditor?.document.uri.fsPath === model.fsPath, 'the example model.json is the active editor');
      const copied = hashTree(path.join(parent, 'woodfisher-example'));
      assert(Object.keys(copied).length === 7, `copied: ${Object.keys(copied)}`);

      const again = await vscode.commands.executeCommand<vscode.Uri>('woodfisher.openExample', parent);
      assert(again?.fsPath === path.join(parent, 'woodfisher-example-2', 'mlpnet', 'model.json'), `second copy at ${again?.fsPath}`);
      assert(JSON.stringify(hashTree(path.join(parent, 'woodfisher-example'))) === JSON.stringify(copied), 'the first copy was touched');

      const r = await prune(model, { noPrompt: true, samples: 200 });
      assert(r?.status === 'done', `prune: ${JSON.stringify(r)}`);
      const out = path.join(parent, 'woodfisher-example', 'mlpnet-pruned');
      const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
      assert(Math.abs(report.sparsity.achieved - 0.9) < 0.01, `sparsity ${report.sparsity.achieved}`);
      assert(report.after.accuracy > 0.5, `accuracy after ${report.after.accuracy}`);
      const expectLinalg = process.env.WOODFISHER_EXPECT_LINALG;
      if (expectLinalg) assert(report.linalg === expectLinalg, `linalg provider ${report.linalg}, expected ${expectLinalg}`);
      assert(typeof report.host === 'string' && report.host.includes(`${process.platform}-${process.arch}`), `host ${report.host}`);
    });
  });
}
