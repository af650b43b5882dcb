import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspectModel } from '../../src/engine/prune';

test('inspect names the format of a model.json without a "format" key (older converters) instead of undefined', async () => {
  const src = path.join(__dirname, '..', '..', 'examples', 'mlpnet');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-inspect-'));
  try {
    for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    delete json.format;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const r = await inspectModel(path.join(dir, 'model.json'), { backend: 'wasm' });
    assert.match(r.format, /^layers-model/);
    assert.ok(r.layers.length > 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
