// Runs the mocha suites of test/extension (bundled to dist/test/index.js) INSIDE a real extension host:
// code-server has no --extensionTestsPath flag, so the workbench is opened with a payload naming the
// development extension and the tests; the renderer reports the extension host's log and exit code through
// window.codeAutomationLog / window.codeAutomationExit, which we expose with playwright.
// usage: node --import tsx test/e2e/run-extension-tests.ts BASE_URL EXTENSION_DIR TESTS_INDEX_JS WORKSPACE
// Exit code: mocha's (0 = all passed), 124 timeout, 2 harness failure. Prints WOODFISHER_RESULT suite=integration …
import * as util from 'node:util';
import { launch, log, isNoise } from './browser';

// The workbench's own start-up chatter, forwarded through the same log channel as mocha's output.
const WORKBENCH_NOISE =
  /^(Resolving connection token|Resolved connection token|Creating a socket|ChatSessionStore|Updating additional builtin|\[Service Worker\])/;

async function main(): Promise<number> {
  const [base, ext, tests, ws] = process.argv.slice(2);
  if (!base || !ext || !tests || !ws) {
    throw new Error('usage: run-extension-tests.ts BASE_URL EXTENSION_DIR TESTS_INDEX_JS WORKSPACE');
  }
  const u = new URL(base);
  const remote = (p: string) => `vscode-remote://${u.host}${p}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(ext)],
    ['extensionTestsPath', remote(tests)],
    ['skipWelcome', 'true'],
  ]);
  const url = `${base}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(payload)}`;
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    let finish!: (code: number) => void;
    const exited = new Promise<number>(r => {
      finish = r;
    });
    let sawResult = false;
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const text = util.format(...(args || []));
      if (text.includes('WOODFISHER_RESULT')) {
        sawResult = true;
      }
      if (!process.env.E2E_DEBUG && WORKBENCH_NOISE.test(text)) {
        return;
      }
      (type === 'error' ? console.error : console.log)(
        text
          .split('\n')
          .map(l => `  | ${l}`)
          .join('\n'),
      );
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      finish(code);
    });
    page.on('pageerror', e => log('pageerror', e.message));
    if (process.env.E2E_DEBUG) {
      page.on('console', m => {
        if (m.type() === 'error' && !isNoise(m.text())) {
          log('console.error', m.text().slice(0, 300));
        }
      });
    }
    log('open workbench with extension tests:', ext, tests);
    await page.goto(url);
    const timeoutMs = Number(process.env.E2E_INTEGRATION_TIMEOUT_MS || 600_000);
    const timer = setTimeout(() => {
      log(`TIMEOUT after ${timeoutMs} ms`);
      finish(124);
    }, timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    log('extension host tests finished, exit code', code);
    if (!sawResult) {
      // mocha never reported (the tests failed to load, or timed out): count the whole suite as one failure
      console.log('WOODFISHER_RESULT suite=integration passed=0 failed=1');
      if (process.env.E2E_ARTIFACTS) {
        await page.screenshot({ path: `${process.env.E2E_ARTIFACTS}/integration-fail.png` }).catch(() => undefined);
      }
    }
    return code === 0 ? 0 : code || 1;
  } finally {
    await browser.close();
  }
}

main().then(
  code => process.exit(code),
  e => {
    console.error('run-extension-tests: harness failure:', e);
    console.log('WOODFISHER_RESULT suite=integration passed=0 failed=1');
    process.exit(2);
  },
);
