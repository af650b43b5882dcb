#!/usr/bin/env node
// Runs the extension-host integration tests (test/extension/**, bundled to dist/test/index.js) in desktop
// VS Code through @vscode/test-electron — for machines that can download VS Code. (Offline, scripts/e2e.sh
// runs the same suites in code-server.) @vscode/test-electron is deliberately not a dependency: install it
// with `npm i --no-save @vscode/test-electron` first.
// usage: npm run -s build && node scripts/test-electron.js [--version 1.99.3|stable] [--grep <mocha grep>]
// Headless Linux needs a display: xvfb-run -a node scripts/test-electron.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

async function main() {
  let runTests;
  try {
    ({ runTests } = require('@vscode/test-electron'));
  } catch {
    console.error(
      '@vscode/test-electron is not installed. Install it (it downloads VS Code at run time):\n' +
        '  npm i --no-save @vscode/test-electron\n' +
        'then: npm run -s build && node scripts/test-electron.js    (on a headless Linux: xvfb-run -a …)',
    );
    return 2;
  }
  const args = process.argv.slice(2);
  const opt = name => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const root = path.resolve(__dirname, '..');
  const testsIndex = path.join(root, 'dist', 'test', 'index.js');
  if (!fs.existsSync(testsIndex) || !fs.existsSync(path.join(root, 'dist', 'extension.js'))) {
    console.error('dist/extension.js or dist/test/index.js is missing: run `npm run -s build` first');
    return 2;
  }
  // Like scripts/e2e.sh: the tests get a fresh copy of examples/ as their workspace folder.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'woodfisher-electron-'));
  const ws = path.join(tmp, 'ws');
  fs.cpSync(path.join(root, 'examples'), ws, { recursive: true });
  const extraEnv = {};
  if (opt('--grep')) {
    extraEnv.WOODFISHER_TEST_GREP = opt('--grep');
  }
  try {
    await runTests({
      version: opt('--version') || '1.99.3',
      extensionDevelopmentPath: root,
      extensionTestsPath: testsIndex,
      extensionTestsEnv: extraEnv,
      launchArgs: [
        ws,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir',
        path.join(tmp, 'ud'),
        '--extensions-dir',
        path.join(tmp, 'exts'),
      ],
    });
    return 0;
  } catch (e) {
    console.error('integration tests failed:', e && e.message ? e.message : e);
    return 1;
  } finally {
    if (!process.env.KEEP_TMP) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}

main().then(code => process.exit(code));
