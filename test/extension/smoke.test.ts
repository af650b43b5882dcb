// The workbench loaded the extension from the VSIX, it activates, and its commands are registered.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineSuite, activate, assert, workspaceRoot, waitFor } from './util';

export function registerSmokeSuite(root: Mocha.Suite): void {
  defineSuite(root, 'smoke', s => {
    s.test('a copy of examples/ is the workspace folder', () => {
      const ws = workspaceRoot();
      assert(fs.existsSync(path.join(ws, 'mlpnet', 'model.json')), `no mlpnet/model.json in the workspace ${ws}`);
      assert(fs.existsSync(path.join(ws, 'data', 'calib-x.npy')), `no data/calib-x.npy in the workspace ${ws}`);
    });
    s.test('the extension activates and registers woodfisher.prune and woodfisher.cancel', async () => {
      const ext = await activate();
      // ext.activate() resolves even when the extension's activate() threw: check what it registered
      assert(ext.isActive, 'the extension is not active');
      const cmds = await waitFor('the woodfisher commands (none registered: did activate() throw? see the exthost log)', async () => {
        const all = await vscode.commands.getCommands(true);
        return ['woodfisher.prune', 'woodfisher.cancel'].every(c => all.includes(c)) ? all : undefined;
      }, 10_000);
      assert(cmds.includes('woodfisher.prune'), 'woodfisher.prune missing');
    });
  });
}
