// Recipe language features: a woodfisher.yaml naming a layer the model does not have gets a diagnostic on
// that line; the example recipe itself gets no error.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineSuite, activate, assert, workspaceRoot, scratch, copyModel, waitFor, sleep } from './util';

const UNKNOWN = 'nosuchlayer';

/** The example recipe with a `layers:` section that names fc1 (real) and UNKNOWN (not in the model). */
function withUnknownLayer(text: string): { text: string; line: number } {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const at = lines.findIndex(l => /^layers:\s*(#.*)?$/.test(l));
  const block = ['  fc1:', '    exclude: true', `  ${UNKNOWN}:`, '    sparsity: 0.5'];
  if (at >= 0) {
    lines.splice(at + 1, 0, ...block);
  } else {
    if (lines.length && lines[lines.length - 1] === '') {
      lines.pop();
    }
    lines.push('', 'layers:', ...block, '');
  }
  return { text: lines.join('\n'), line: lines.indexOf(`  ${UNKNOWN}:`) };
}

function show(d: readonly vscode.Diagnostic[]): string {
  return JSON.stringify(d.map(x => ({ line: x.range.start.line, severity: x.severity, source: x.source, message: x.message })));
}

export function registerRecipeSuite(root: Mocha.Suite): void {
  defineSuite(root, 'recipe diagnostics', s => {
    let example = '';
    s.suiteSetup(async () => {
      await activate();
      example = fs.readFileSync(path.join(workspaceRoot(), 'mlpnet', 'woodfisher.yaml'), 'utf8');
    });
    s.suiteTeardown(async () => {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    s.test('an unknown layer name under layers: gets a diagnostic on its line', async () => {
      const dir = scratch('recipe');
      copyModel(path.join(workspaceRoot(), 'mlpnet'), dir);
      const { text, line } = withUnknownLayer(example);
      const file = path.join(dir, 'woodfisher.yaml');
      fs.writeFileSync(file, text);
      const uri = vscode.Uri.file(file);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      let diags: readonly vscode.Diagnostic[] = [];
      await waitFor(
        `a diagnostic on line ${line + 1} (${UNKNOWN})`,
        () => {
          diags = vscode.languages.getDiagnostics(uri);
          return diags.some(d => d.range.start.line <= line && d.range.end.line >= line) || undefined;
        },
        15_000,
      ).catch(e => {
        throw new Error(`${(e as Error).message}; diagnostics: ${show(diags)}`);
      });
      const onLine = diags.filter(d => d.range.start.line <= line && d.range.end.line >= line);
      assert(
        onLine.some(d => d.message.includes(UNKNOWN) || /layer/i.test(d.message)),
        `the diagnostic should name the layer: ${show(onLine)}`,
      );
      const fc1Line = line - 2;
      assert(
        !diags.some(d => d.range.start.line === fc1Line && d.severity === vscode.DiagnosticSeverity.Error),
        `fc1 is a real layer but got an error: ${show(diags)}`,
      );
    });

    s.test("a schema error shows once: from VS Code's JSON service in a JSON recipe, from the extension in a YAML one", async () => {
      const dir = scratch('recipe-once');
      copyModel(path.join(workspaceRoot(), 'mlpnet'), dir);
      // [file, text, reported by this extension (source 'woodfisher') rather than VS Code's JSON service (no source)]
      const recipes: [string, string, boolean][] = [
        ['woodfisher.json', '{\n  "model": "model.json",\n  "sparsity": 1.5,\n  "method": "woodfisher"\n}\n', false],
        ['mnist.prune.yaml', 'model: model.json\nsparsity: 1.5\nmethod: woodfisher\n', true],
      ];
      for (const [name, text, ours] of recipes) {
        const uri = vscode.Uri.file(path.join(dir, name));
        fs.writeFileSync(uri.fsPath, text);
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
        const line = text.split('\n').findIndex(l => l.includes('sparsity'));
        const onLine = () => vscode.languages.getDiagnostics(uri).filter(d => d.range.start.line <= line && d.range.end.line >= line);
        await waitFor(`${name}: a diagnostic on the sparsity line`, () => onLine().length > 0 || undefined, 20_000);
        await sleep(2500); // the other reporter, if there were one, has had time to speak
        const found = onLine();
        assert(found.length === 1, `${name}: ${found.length} diagnostics for one error: ${show(found)}`);
        assert(
          (found[0].source === 'woodfisher') === ours,
          `${name}: reported by ${found[0].source ?? "VS Code's JSON service"}: ${show(found)}`,
        );
      }
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    s.test("completion offers the model's layer names under layers: and schema values for method", async () => {
      const dir = scratch('recipe-complete');
      copyModel(path.join(workspaceRoot(), 'mlpnet'), dir);
      const file = path.join(dir, 'woodfisher.yaml');
      const text = example.replace(/\s*$/, '\n') + 'layers:\n  \n';
      fs.writeFileSync(file, text);
      const uri = vscode.Uri.file(file);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      const lines = text.split('\n');
      const layerLine = lines.length - 2;
      const labels = async (pos: vscode.Position) => {
        const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, pos);
        return list.items.map(i => (typeof i.label === 'string' ? i.label : i.label.label));
      };
      const layers = await waitFor(
        'layer-name completions',
        async () => {
          const l = await labels(new vscode.Position(layerLine, 2));
          return ['fc1', 'fc2', 'fc3'].every(n => l.includes(n)) ? l : undefined;
        },
        15_000,
      );
      assert(!layers.includes('nosuchlayer'), `unexpected completions ${layers}`);
      const methodLine = lines.findIndex(l => l.startsWith('method:'));
      const methods = await labels(new vscode.Position(methodLine, 'method: '.length));
      for (const m of ['woodfisher', 'woodtaylor', 'global-magnitude']) assert(methods.includes(m), `method completions ${methods}`);
    });

    s.test("hovering a recipe key shows the schema's documentation", async () => {
      const dir = scratch('recipe-hover');
      copyModel(path.join(workspaceRoot(), 'mlpnet'), dir);
      const file = path.join(dir, 'woodfisher.yaml');
      fs.writeFileSync(file, example);
      const uri = vscode.Uri.file(file);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      const line = example.split('\n').findIndex(l => l.startsWith('damp:'));
      const hovers = await waitFor(
        'a hover on damp',
        async () => {
          const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(line, 1));
          return h.length ? h : undefined;
        },
        15_000,
      );
      const text = hovers.flatMap(h => h.contents.map(c => (typeof c === 'string' ? c : c.value))).join('\n');
      assert(/damp|λ|lambda/i.test(text), `hover text: ${text}`);
    });

    s.test('New WoodFisher Recipe writes a commented woodfisher.yaml that validates and prunes as is', async () => {
      const dir = scratch('newrecipe');
      const model = copyModel(path.join(workspaceRoot(), 'mlpnet'), path.join(dir, 'mlpnet'));
      fs.mkdirSync(path.join(dir, 'data'));
      for (const f of ['calib-x.npy', 'calib-y.npy']) fs.copyFileSync(path.join(workspaceRoot(), 'data', f), path.join(dir, 'data', f));
      const uri = await vscode.commands.executeCommand<vscode.Uri>('woodfisher.newRecipe', vscode.Uri.file(model));
      assert(uri && uri.fsPath === path.join(path.dirname(model), 'woodfisher.yaml'), `recipe at ${uri?.fsPath}`);
      const text = fs.readFileSync(uri.fsPath, 'utf8');
      assert(/^#/m.test(text) && /calib-x\.npy/.test(text), `the recipe should be commented and find the calibration data:\n${text}`);
      await sleep(1500);
      const errors = vscode.languages.getDiagnostics(uri).filter(d => d.severity === vscode.DiagnosticSeverity.Error);
      assert(errors.length === 0, `errors in the new recipe: ${show(errors)}`);
      const r = await vscode.commands.executeCommand<{ status: string; error?: string; outDir?: string }>(
        'woodfisher.prune',
        vscode.Uri.file(model),
        { noPrompt: true, samples: 64 },
      );
      assert(r?.status === 'done', `pruning with the new recipe: ${JSON.stringify(r)}`);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    s.test('the example recipe (copied) has no errors', async () => {
      const dir = scratch('recipe-ok');
      copyModel(path.join(workspaceRoot(), 'mlpnet'), dir);
      const file = path.join(dir, 'woodfisher.yaml');
      fs.writeFileSync(file, example);
      const uri = vscode.Uri.file(file);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      await sleep(2000); // diagnostics are computed asynchronously; give them time to (not) appear
      const errors = vscode.languages.getDiagnostics(uri).filter(d => d.severity === vscode.DiagnosticSeverity.Error);
      assert(errors.length === 0, `unexpected errors in the example recipe: ${show(errors)}`);
    });
  });
}
