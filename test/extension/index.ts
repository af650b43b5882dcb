// Entry point of the extension-host integration tests. VS Code (here: code-server's Node extension host)
// loads dist/test/index.js — this file bundled by esbuild — and calls run(). Only this file is bundled, so
// every suite is imported statically below; mocha itself stays external and is required from node_modules.
import Mocha from 'mocha';
import { registerSmokeSuite } from './smoke.test';
import { registerPruneSuite } from './prune.test';
import { registerCodeLensSuite } from './codelens.test';
import { registerRecipeSuite } from './recipe.test';
import { registerSweepSuite } from './sweep.test';
import { registerViewsSuite } from './views.test';
import { registerWalkthroughSuite } from './walkthrough.test';
import { registerGradualSuite } from './gradual.test';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: Number(process.env.WOODFISHER_TEST_TIMEOUT_MS || 120_000) });
  const grep = process.env.WOODFISHER_TEST_GREP;
  if (grep) {
    mocha.grep(grep);
  }
  const root = mocha.suite;
  registerSmokeSuite(root);
  registerPruneSuite(root);
  registerCodeLensSuite(root);
  registerRecipeSuite(root);
  registerSweepSuite(root);
  registerViewsSuite(root);
  registerWalkthroughSuite(root);
  registerGradualSuite(root);
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run(failures => {
        // A machine-readable line for scripts/e2e.sh (the last one wins).
        console.log(`WOODFISHER_RESULT suite=integration passed=${runner.stats?.passes ?? 0} failed=${failures}`);
        if (failures > 0) {
          reject(new Error(`${failures} integration test(s) failed`));
        } else {
          resolve();
        }
      });
    } catch (e) {
      console.error(e);
      reject(e);
    }
  });
}
