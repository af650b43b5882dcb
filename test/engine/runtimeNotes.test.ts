// The notices a run gives when a faster runtime did not load: TF.js without tfjs-node, Fisher products without
// onnxruntime-node. Each names what ran, the speed-up and where that figure comes from, and the install command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tfjsNodeMissing, tfjsNodeNotice } from '../../src/engine/backend';
import { runtimeNotes } from '../../src/engine/runKit';
import type { PruneEvent } from '../../src/engine/types';

let hasNode = false;
try {
  require.resolve('@tensorflow/tfjs-node');
  hasNode = true;
} catch {
  /* optional dependency absent: the case the notice is for */
}

test('the tfjs-node notice: what ran, the documented speed-up and its source, the install command, in one line', () => {
  const line = tfjsNodeNotice('wasm', 'is not installed');
  assert.ok(!line.includes('\n'), 'one line');
  assert.match(line, /^TF\.js ran on wasm: @tensorflow\/tfjs-node is not installed\./);
  assert.match(line, /about 2× faster than wasm on conv models in users' reports \(not measured here; docs\/performance\.md\)/);
  assert.match(line, /`npm install -g @tensorflow\/tfjs-node` beside a global woodfisher \(CLI\)/);
  assert.match(line, /`npm install @tensorflow\/tfjs-node` in your home folder \(VS Code\)/);
  assert.match(line, /downloads libtensorflow/);
});

test(
  'a run on wasm after auto looked for tfjs-node gets the notice once in the log and every time in its notes',
  { skip: hasNode && 'tfjs-node is installed here' },
  async () => {
    const backend = await initBackend('auto');
    assert.equal(backend, 'wasm');
    assert.equal(tfjsNodeMissing(backend), 'is not installed');
    assert.equal(tfjsNodeMissing('tensorflow'), undefined, 'no notice when tfjs-node runs');
    const events: PruneEvent[] = [];
    const first = runtimeNotes(backend, true, e => events.push(e));
    const again = runtimeNotes(backend, true, e => events.push(e));
    assert.equal(first.backendNote, tfjsNodeNotice('wasm', 'is not installed'));
    assert.deepEqual(again, first, 'every report carries the notes');
    const warnings = events.filter(e => e.type === 'log' && e.level === 'warn' && e.message === first.backendNote);
    assert.equal(warnings.length, 1, 'logged once per process (the CLI prints it once)');
  },
);
