// Text and messages the host takes from untrusted places: layer names shown in Markdown hovers, and the webview.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeMarkdown } from '../../src/extension/markdown';
import { isWebviewEnvelope } from '../../src/protocol';

test('a layer name with Markdown or HTML in it is shown as written, never rendered', () => {
  const name = '[click](command:workbench.action.terminal.new) <img src=x> **b** `c`\nnext';
  const escaped = escapeMarkdown(name);
  assert.doesNotMatch(escaped, /(^|[^\\])[[\]()<>*`]/, escaped);
  assert.doesNotMatch(escaped, /\n/);
  assert.equal(escaped.replace(/\\(.)/g, '$1'), name.replace('\n', ' '), 'unescaping gives the name back');
  assert.equal(escapeMarkdown('dense_1'), 'dense\\_1');
});

test('only well-formed webview messages are taken', () => {
  assert.ok(isWebviewEnvelope({ body: { type: 'runAgain' } }));
  assert.ok(isWebviewEnvelope({ id: 3, body: { type: 'showLayerInModel', name: 'fc1' } }));
  assert.ok(isWebviewEnvelope({ body: { type: 'sensitivity' } }));
  assert.ok(isWebviewEnvelope({ body: { type: 'setLayerOverride', name: 'fc1', sparsity: 0.8 } }));
  assert.ok(isWebviewEnvelope({ body: { type: 'saveChart', chart: 'sweep', format: 'svg' } }));
  assert.ok(isWebviewEnvelope({ body: { type: 'saveChart', chart: 'accuracy', format: 'png', dataUrl: 'data:image/png;base64,AAAA' } }));
  for (const bad of [
    null,
    1,
    'runAgain',
    {},
    { body: null },
    { body: { type: 'rm -rf' } },
    { body: { type: 'showLayerInModel' } },
    { body: { type: 'showLayerInModel', name: 'x'.repeat(5000) } },
    { body: { type: ['cancel'] } },
    { body: { type: 'toString' } },
    { body: { type: 'setLayerOverride', name: 'fc1', sparsity: 1.5 } },
    { body: { type: 'saveChart', chart: 'sweep', format: 'exe' } },
    { body: { type: 'saveChart', chart: 'a', format: 'png', dataUrl: 'file:///etc/passwd' } },
  ]) {
    assert.equal(isWebviewEnvelope(bad), false, JSON.stringify(bad));
  }
});
