// The notice a user reads when the Fisher products fall back to plain JS: its fix must be one that works on that
// platform — where no package carries a native binary (scripts/platforms.json), it must not send them to install one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeGemmNotice } from '../../../src/engine/linalg/fastest';

const PLATFORMS: Record<string, string[]> = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../scripts/platforms.json'), 'utf8'));
const reason = "onnxruntime-node not loadable: Cannot find module 'onnxruntime-node'";

test('every platform: the cause, the slowdown and one fix, on one line', () => {
  for (const platform of [...Object.keys(PLATFORMS), 'linux-ppc64']) {
    const n = nativeGemmNotice(reason, platform);
    assert.ok(n.includes(reason), `${platform}: the cause is missing`);
    assert.match(n, /plain JavaScript, 20–30× slower/);
    assert.equal(n.match(/Fix: /g)?.length, 1, `${platform}: ${n}`);
    assert.doesNotMatch(n, /\n/);
  }
});

test('where a package ships the native binary, the fix is to install that package; where none does, it says so', () => {
  for (const [platform, natives] of Object.entries(PLATFORMS)) {
    const n = nativeGemmNotice(reason, platform);
    if (natives.length) {
      assert.match(n, /install the VSIX built for your platform/, platform);
      assert.match(n, /ONNXRUNTIME_NODE_INSTALL=skip npm install -g woodfisher/, platform);
    } else {
      assert.doesNotMatch(n, /install the VSIX|npm install/, `${platform}: no package carries a binary, so no install helps`);
      assert.match(n, /no build for macOS on Intel/, platform);
      assert.match(n, /Fix: none on this Mac/, platform);
    }
  }
});

test('Windows names the runtime library onnxruntime links', () => {
  assert.match(nativeGemmNotice(reason, 'win32-x64'), /Visual C\+\+ Redistributable \(MSVCP140\.dll\)/);
  assert.doesNotMatch(nativeGemmNotice(reason, 'linux-x64'), /Visual C\+\+/);
});
