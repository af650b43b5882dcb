// The workbench loaded the extension from the VSIX, it activates, and every command its manifest contributes is registered.
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
      const cmds = await waitFor(
        'the woodfisher commands (none registered: did activate() throw? see the exthost log)',
        async () => {
          const all = await vscode.commands.getCommands(true);
          return ['woodfisher.prune', 'woodfisher.cancel'].every(c => all.includes(c)) ? all : undefined;
        },
        10_000,
      );
      assert(cmds.includes('woodfisher.prune'), 'woodfisher.prune missing');
    });
    s.test('every command the manifest contributes (and every menu names) is registered by activate()', async () => {
      const ext = await activate();
      const contributes = (
        ext.packageJSON as { contributes: { commands: { command: string }[]; menus: Record<string, { command: string }[]> } }
      ).contributes;
      const contributed = contributes.commands.map(c => c.command);
      const inMenus = Object.values(contributes.menus)
        .flat()
        .map(m => m.command);
      assert(contributed.length >= 6, `only ${contributed.length} commands in the manifest`);
      const all = new Set(await vscode.commands.getCommands(true));
      const missing = [...new Set([...contributed, ...inMenus])].filter(c => !all.has(c));
      assert(missing.length === 0, `contributed but not registered: ${missing.join(', ')}`);
      const unknownInMenus = inMenus.filter(c => !contributed.includes(c));
      assert(unknownInMenus.length === 0, `menus name commands the manifest does not contribute: ${unknownInMenus.join(', ')}`);
    });
  });
}
