// Shared by the workbench drivers: launch Debian's chromium through playwright-core, log with timestamps.
import { chromium, type Browser } from 'playwright-core';
import * as fs from 'node:fs';

const t0 = Date.now();
export const log = (...a: unknown[]): void => {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`, ...a);
};

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find(p => p && fs.existsSync(p));
  if (!found) {
    throw new Error('no chromium found; run scripts/install-workbench.sh (apt-get install chromium) or set CHROMIUM_PATH');
  }
  return found;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Console noise of an offline workbench that says nothing about our extension. */
export function isNoise(text: string): boolean {
  return /404|Failed to load resource|marketplace|gallery|vscode-unpkg|update\.code|ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|net::|telemetry|workbench\.contrib\.chat|copilot/i.test(
    text,
  );
}
