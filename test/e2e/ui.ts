// UI test in a real VS Code workbench (code-server) driven by Debian chromium: Explorer context menu on
// mlpnet/model.json → "Prune with WoodFisher" → the results panel beside fills one row per prunable layer and
// reaches 'done'; model.json then shows sparsity CodeLenses. Screenshots go to ARTIFACTS (panel.png, codelens.png).
// usage: node --import tsx test/e2e/ui.ts BASE_URL WORKSPACE ARTIFACTS_DIR
// Prints WOODFISHER_RESULT suite=ui passed=N failed=M; exit code 0 only if every check passed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page, Frame } from 'playwright-core';
import { launch, log, isNoise } from './browser';
import { writeDeepMlp } from '../fixtures/deepMlp';

const LAYERS = ['fc1', 'fc2', 'fc3'];
const RUN_TIMEOUT_MS = Number(process.env.E2E_UI_RUN_TIMEOUT_MS || 300_000);

/** The frame (two iframes deep in the webview) holding selector, polling page.frames(). */
async function webviewFrame(page: Page, selector: string, timeout = 30_000): Promise<Frame> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if (await f.$(selector)) {
          return f;
        }
      } catch {
        /* detached while navigating */
      }
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`no webview frame with ${selector} after ${timeout} ms`);
}

/** The panel's status once the host's restored snapshot has arrived: a reloaded webview first draws the state it
 *  saved itself, which the workbench persists lazily (it can be a run's last progress, not its end); the host's
 *  snapshot, from the report on disk, follows. Waits up to 15 s for "done", then returns whatever is shown. */
async function statusAfterReload(frame: Frame): Promise<string> {
  await frame
    .waitForFunction(() => /^done/.test(document.querySelector('#status')?.textContent?.trim() ?? ''), undefined, { timeout: 15_000 })
    .catch(() => undefined);
  return ((await frame.textContent('#status')) ?? '').trim();
}

async function main(): Promise<{ passed: number; failed: number }> {
  const [base, ws, artifacts] = process.argv.slice(2);
  if (!base || !ws || !artifacts) {
    throw new Error('usage: ui.ts BASE_URL WORKSPACE ARTIFACTS_DIR');
  }
  fs.mkdirSync(artifacts, { recursive: true });
  // a 61-layer model in the workspace copy, written on one line as tfjs writes it, with a recipe beside it
  writeDeepMlp(path.join(ws, 'deep'), { depth: 60, width: 16 });
  fs.writeFileSync(
    path.join(ws, 'deep', 'woodfisher.yaml'),
    [
      '# the deep MLP of the views test',
      'model: ./model.json',
      'data: { inputs: ../data/calib-x.npy, labels: ../data/calib-y.npy }',
      'samples: 64',
      'sparsity: 0.9',
      'damp: 1e-4',
      'output: ../deep-pruned',
      '',
    ].join('\n'),
  ); // no eval: the sensitivity scan measures on the 64 labelled calibration digits
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  page.on('pageerror', e => log('pageerror', e.message));
  page.on('console', m => {
    if (m.type() === 'error' && !isNoise(m.text()) && process.env.E2E_DEBUG) {
      log('console.error', m.text().slice(0, 300));
    }
  });

  let passed = 0,
    failed = 0,
    broken = false;
  const check = async (name: string, fn: () => Promise<void>) => {
    if (broken) {
      failed++;
      log(`✗ ${name} (not reached: an earlier step failed)`);
      return;
    }
    const t = Date.now();
    try {
      await fn();
      passed++;
      log(`✔ ${name} (${Date.now() - t} ms)`);
    } catch (e) {
      failed++;
      broken = true;
      log(
        `✗ ${name}\n    ${String((e as Error)?.stack || e)
          .split('\n')
          .slice(0, 4)
          .join('\n    ')}`,
      );
      const notes = await page
        .locator('.notifications-toasts .notification-list-item-message')
        .allTextContents()
        .catch(() => []);
      if (notes.length) {
        log('  notifications:', JSON.stringify(notes));
      }
      const shot = path.join(artifacts, 'ui-fail.png');
      await page.screenshot({ path: shot }).catch(() => undefined);
      log('  failure screenshot:', shot);
    }
  };

  const explorerRow = (text: string, level?: number) =>
    page.locator(`.explorer-folders-view .monaco-list-row${level ? `[aria-level="${level}"]` : ''}`, {
      has: page.locator('.label-name', { hasText: new RegExp(`^${text.replace('.', '\\.')}$`) }),
    });

  /** VS Code's own save dialog (a quick input holding the path): accept the proposed file, wait for it. */
  const acceptSaveDialog = async (file: string) => {
    await page.locator('.quick-input-widget .quick-input-box input').first().waitFor({ timeout: 15_000 });
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    const deadline = Date.now() + 15_000;
    while (!fs.existsSync(file)) {
      if (Date.now() > deadline) {
        throw new Error(`${file} was not written`);
      }
      await page.waitForTimeout(250);
    }
  };
  /** Double-clicks `file` right under the top-level `folder` in the Explorer (expanding the folder if needed). */
  const openFromExplorer = async (folder: string, file: string) => {
    const row = explorerRow(folder, 1);
    if ((await row.getAttribute('aria-expanded')) !== 'true') {
      await row.click();
      await page.waitForTimeout(500);
    }
    const names = await page
      .locator('.explorer-folders-view .monaco-list-row')
      .evaluateAll(rows => rows.map(r => [r.getAttribute('aria-level'), r.querySelector('.label-name')?.textContent ?? '']));
    const start = names.findIndex(([lvl, n]) => lvl === '1' && n === folder);
    const end = names.findIndex(([lvl], i) => i > start && lvl === '1');
    const offset = names.slice(start + 1, end < 0 ? undefined : end).findIndex(([lvl, n]) => lvl === '2' && n === file);
    if (start < 0 || offset < 0) {
      throw new Error(`no ${folder}/${file} in the Explorer: ${JSON.stringify(names)}`);
    }
    await page
      .locator('.explorer-folders-view .monaco-list-row')
      .nth(start + 1 + offset)
      .dblclick();
  };
  const rowsIn = (frame: Frame) =>
    frame.$$eval('table#layers tbody tr[data-layer]', trs =>
      trs.map(tr => ({
        name: tr.getAttribute('data-layer')!,
        sparsity: parseFloat((tr as HTMLTableRowElement).cells[4].textContent!.replace(/[^\d.]/g, '')),
        over: tr.classList.contains('over'),
      })),
    );

  let panel: Frame | undefined;
  try {
    await check('workbench loads and shows the workspace (a copy of examples/)', async () => {
      await page.goto(`${base}/?folder=${encodeURIComponent(ws)}`);
      await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
      await explorerRow('mlpnet', 1).waitFor({ timeout: 60_000 });
    });

    await check('Explorer context menu of mlpnet/model.json lists "Prune with WoodFisher"', async () => {
      const folder = explorerRow('mlpnet', 1);
      if ((await folder.getAttribute('aria-expanded')) !== 'true') {
        await folder.click();
      }
      const row = explorerRow('model.json', 2);
      await row.waitFor({ timeout: 15_000 });
      // the menu is built from the extension's contributions: retry until they are registered
      for (let attempt = 1; ; attempt++) {
        await row.click({ button: 'right' });
        const item = page.locator('.context-view .monaco-menu .action-item', {
          has: page.locator('.action-label', { hasText: /^Prune with WoodFisher$/ }),
        });
        try {
          await item.waitFor({ timeout: 5_000 });
          // the command's enablement (isWorkspaceTrusted) settles a moment after start-up: wait until it is enabled
          const disabled = await item.evaluate(
            el => el.classList.contains('disabled') || !!el.querySelector('.disabled, [aria-disabled="true"]'),
          );
          if (disabled) {
            throw new Error('"Prune with WoodFisher" is in the menu but disabled');
          }
          break;
        } catch (e) {
          if (attempt >= 8) {
            throw e;
          }
          await page.keyboard.press('Escape');
          log('  context menu retry', attempt, String((e as Error).message).split('\n')[0]);
          await page.waitForTimeout(1000);
        }
      }
    });

    await check('"Prune with WoodFisher" opens the results panel beside, one row per prunable layer, #status reaches done', async () => {
      await page.waitForTimeout(300); // a menu ignores a mouse-up that comes too soon after it opened
      await page
        .locator('.context-view .monaco-menu .action-item', { has: page.locator('.action-label', { hasText: /^Prune with WoodFisher$/ }) })
        .locator('.action-label')
        .click();
      await page.locator('.tabs-container .tab', { hasText: 'WoodFisher: mlpnet' }).first().waitFor({ timeout: 30_000 });
      panel = await webviewFrame(page, '#status', 60_000);
      log('  #status:', (await panel.textContent('#status'))?.trim());
      const deadline = Date.now() + RUN_TIMEOUT_MS;
      let status = '';
      let lastStage = '';
      for (;;) {
        status = ((await panel.textContent('#status')) ?? '').trim();
        const stage = ((await panel.textContent('#stage').catch(() => '')) ?? '').trim();
        const stageKey = stage.replace(/[\d/.,%]+/g, '').trim(); // log each stage (and layer) once, not every tick
        if (stage && stageKey !== lastStage) {
          log('  #stage:', stage);
          lastStage = stageKey;
        }
        if (/^(done|cancelled|error)/i.test(status)) {
          break;
        }
        if (Date.now() > deadline) {
          throw new Error(`#status still '${status}' after ${RUN_TIMEOUT_MS} ms`);
        }
        await page.waitForTimeout(500);
      }
      const backendLine = ((await panel.textContent('#backend').catch(() => '')) ?? '').trim();
      log('  #status:', status, '| #backend:', backendLine);
      if (!/^done/i.test(status)) {
        throw new Error(`the run ended with '${status}'`);
      }
      // the TF.js backend, where the gradient pass ran and the products provider; without tfjs-node, the notice that
      // says what it would give
      const notes = ((await panel.textContent('#notes').catch(() => '')) ?? '').trim();
      log('  #notes:', notes || '(none)');
      if (!/^\S+ · gradients (onnxruntime|TF\.js)[^·]* · linalg \S+/.test(backendLine)) {
        throw new Error(`#backend does not name the TF.js backend, the gradient pass and the products provider: '${backendLine}'`);
      }
      const onTfjsNode = backendLine.startsWith('tensorflow');
      if (onTfjsNode === /@tensorflow\/tfjs-node/.test(notes)) {
        throw new Error(
          `#notes ${onTfjsNode ? 'speaks of tfjs-node although it ran' : 'does not say that tfjs-node is missing'}: '${notes}'`,
        );
      }
      if (notes && (await panel.$('#notes[hidden]'))) {
        throw new Error('#notes has text but is hidden');
      }
      const rows = await panel.$$eval('table#layers tbody tr[data-layer]', trs => trs.map(tr => tr.getAttribute('data-layer')));
      log('  layer rows:', rows.join(', '));
      if (rows.length !== LAYERS.length || !LAYERS.every(n => rows.includes(n))) {
        throw new Error(`expected rows ${LAYERS} got ${rows}`);
      }
      for (const id of ['#chart-sparsity', '#chart-saliency', '#chart-accuracy']) {
        if (!(await panel.$(`canvas${id}`))) {
          throw new Error(`no canvas ${id} in the panel`);
        }
      }
      for (const id of ['#open-model', '#open-report', '#run-again', '#sweep']) {
        if (!(await panel.$(`button${id}, ${id}`))) {
          throw new Error(`no ${id} button in the panel`);
        }
      }
      // the download size, before and after: two bars (output shorter: 90% zeros compress) and the ratio
      const ratio = ((await panel.textContent('#size-ratio')) ?? '').trim();
      const sizes = [((await panel.textContent('#size-in')) ?? '').trim(), ((await panel.textContent('#size-out')) ?? '').trim()];
      log('  size:', sizes.join(' → '), '|', ratio);
      if (await panel.$('#size[hidden]')) {
        throw new Error('the size bar is hidden after a run');
      }
      if (!/^download [\d.]+× smaller$/.test(ratio)) {
        throw new Error(`size ratio: '${ratio}'`);
      }
      const widths = await panel.$$eval('#size-bar-in, #size-bar-out', els =>
        els.map(e => (e as HTMLElement).getBoundingClientRect().width),
      );
      if (!(widths.length === 2 && widths[1] > 0 && widths[1] < widths[0])) {
        throw new Error(`size bars: ${widths}`);
      }
      const groups = await page.locator('.editor-group-container').count();
      log('  editor groups:', groups);
      // close the "Pruned …" toast so it does not cover the layer table in the screenshot
      for (const x of await page.locator('.notifications-toasts .codicon-notifications-clear').all()) {
        await x.click().catch(() => undefined);
      }
      await page.waitForTimeout(800); // let the charts finish drawing
      await page.screenshot({ path: path.join(artifacts, 'panel.png') });
      log('  screenshot', path.join(artifacts, 'panel.png'));
    });

    await check('the panel\'s "Open Report" and "Open Pruned Model" buttons open the run\'s files', async () => {
      const frame = await webviewFrame(page, 'button#open-report:not([disabled])', 15_000);
      await frame.click('button#open-report');
      await page.locator('.tabs-container .tab', { hasText: 'report.json' }).first().waitFor({ timeout: 15_000 });
      await frame.click('button#open-model');
      // the active editor's breadcrumbs read …/pruned/model.json (the output, not the model it came from)
      await page
        .locator('.editor-group-container.active .monaco-breadcrumbs', { hasText: /pruned.*model\.json/ })
        .first()
        .waitFor({ timeout: 15_000 });
    });

    await check(
      'the layer table sorts by any column, filters by name, highlights rows above a sparsity; a click on a row shows the layer in model.json',
      async () => {
        const frame = await webviewFrame(page, 'table#layers thead th', 15_000);
        const sparsityHeader = frame.locator('table#layers thead th').nth(4);
        await sparsityHeader.click();
        let rows = await rowsIn(frame);
        log('  sorted by sparsity:', rows.map(r => `${r.name} ${r.sparsity}`).join(', '));
        if (rows.some((r, i) => i > 0 && rows[i - 1].sparsity < r.sparsity)) {
          throw new Error('not descending');
        }
        await sparsityHeader.click();
        rows = await rowsIn(frame);
        if (rows.some((r, i) => i > 0 && rows[i - 1].sparsity > r.sparsity)) {
          throw new Error('not ascending');
        }
        if ((await sparsityHeader.getAttribute('aria-sort')) !== 'ascending') {
          throw new Error('aria-sort not set');
        }
        await sparsityHeader.click();
        rows = await rowsIn(frame);
        if (rows.map(r => r.name).join() !== LAYERS.join()) {
          throw new Error(`third click should restore model order: ${rows.map(r => r.name)}`);
        }
        await frame.fill('#layer-filter', 'FC2');
        rows = await rowsIn(frame);
        if (rows.map(r => r.name).join() !== 'fc2') {
          throw new Error(`filter FC2: ${rows.map(r => r.name)}`);
        }
        await frame.fill('#layer-filter', '');
        await frame.fill('#sparsity-highlight', '40');
        rows = await rowsIn(frame);
        const wrong = rows.filter(r => r.over !== r.sparsity > 40);
        log(
          '  above 40%:',
          rows
            .filter(r => r.over)
            .map(r => r.name)
            .join(', '),
          '|',
          (await frame.textContent('#layer-count'))?.trim(),
        );
        if (wrong.length || !rows.some(r => r.over)) {
          throw new Error(`highlight wrong for ${wrong.map(r => r.name)}`);
        }
        await page.waitForTimeout(500);
        await page.screenshot({ path: path.join(artifacts, 'panel-table.png') });
        await frame.locator('table#layers tbody tr[data-layer="fc3"] td').first().click();
        // model.json comes to the front with fc3's name selected: the breadcrumbs follow the cursor into fc3
        const crumbs = page.locator('.editor-group-container .monaco-breadcrumbs', { hasText: 'fc3' }).first();
        await crumbs.waitFor({ timeout: 15_000 });
        log('  breadcrumbs:', JSON.stringify((await crumbs.textContent())?.trim()));
      },
    );

    await check(
      'the one-line mlpnet/model.json shows one summary lens (sparsity, accuracy before → after), not a joined per-layer string',
      async () => {
        // open mlpnet/model.json in the first editor group (the panel stays beside); tfjs writes it on one line
        await page.keyboard.press('Escape');
        await openFromExplorer('mlpnet', 'model.json');
        const summary = page.locator('.monaco-editor .codelens-decoration a', { hasText: /^[\d.]+% pruned · accuracy/ });
        await summary.first().waitFor({ timeout: 30_000 });
        const texts = await page.locator('.monaco-editor .codelens-decoration a').allTextContents();
        log('  lenses:', JSON.stringify(texts));
        if (texts.some(t => /^fc\d ·/.test(t))) {
          throw new Error(`per-layer lenses on a one-line file: ${JSON.stringify(texts)}`);
        }
        if (!texts.some(t => /accuracy [\d.]+% → [\d.]+%/.test(t))) {
          throw new Error(`no accuracy in the summary: ${JSON.stringify(texts)}`);
        }
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(artifacts, 'codelens.png') });
        log('  screenshot', path.join(artifacts, 'codelens.png'));
      },
    );

    await check('Go to Symbol (Ctrl+Shift+O) lists the layers; choosing fc2 highlights its row in the panel', async () => {
      await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+Shift+O');
      await page.waitForTimeout(500);
      await page.keyboard.type('fc2');
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'fc2' }).first();
      await row.waitFor({ timeout: 15_000 });
      log('  Go to Symbol row:', JSON.stringify((await row.textContent())?.trim()));
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(artifacts, 'goto-symbol.png') });
      await page.keyboard.press('Enter');
      const frame = await webviewFrame(page, 'table#layers tbody tr[data-layer="fc2"].highlight', 15_000);
      const highlighted = await frame.$$eval('table#layers tbody tr.highlight', trs => trs.map(tr => tr.getAttribute('data-layer')));
      if (highlighted.join() !== 'fc2') {
        throw new Error(`highlighted rows: ${highlighted}`);
      }
    });

    await check('the "3 layers" lens shows each layer with its sparsity and threshold in the Outline view', async () => {
      await page
        .locator('.monaco-editor .codelens-decoration a', { hasText: /^3 layers$/ })
        .first()
        .click();
      const outlineRow = page.locator('.outline-pane .monaco-list-row', { hasText: 'fc1' }).first();
      await outlineRow.waitFor({ timeout: 20_000 });
      const rows = await page.locator('.outline-pane .monaco-list-row').allTextContents();
      log('  outline:', JSON.stringify(rows));
      if (!rows.some(r => /fc1.*% pruned.*threshold/.test(r))) {
        throw new Error(`no sparsity/threshold in the outline: ${JSON.stringify(rows)}`);
      }
      await page.screenshot({ path: path.join(artifacts, 'outline.png') });
    });

    await check(
      '"formatted view" opens a read-only pretty-printed model with one lens per layer; clicking fc1\'s lens highlights its row',
      async () => {
        await page.locator('.monaco-editor .codelens-decoration a', { hasText: 'formatted view' }).first().click();
        await page.locator('.tabs-container .tab', { hasText: 'model (formatted).json' }).first().waitFor({ timeout: 20_000 });
        const lenses = page.locator('.editor-group-container.active .monaco-editor .codelens-decoration a', {
          hasText: /^fc\d · sparsity/,
        });
        await lenses.nth(0).waitFor({ timeout: 20_000 });
        // the lenses are on their layers' lines, far apart: scroll down to find the later ones
        const seen = new Set(await lenses.allTextContents());
        for (let i = 0; i < 20 && seen.size < LAYERS.length; i++) {
          await page.mouse.wheel(0, 400);
          await page.waitForTimeout(150);
          for (const t of await lenses.allTextContents()) {
            seen.add(t);
          }
        }
        log('  view lenses:', JSON.stringify([...seen]));
        if (![...seen].every(t => /^fc\d · sparsity [\d.]+% · threshold/.test(t)) || seen.size !== LAYERS.length) {
          throw new Error(`view lenses: ${JSON.stringify([...seen])}`);
        }
        // back to the top (line 1 is outside every layer, so the click reveals nothing by itself)
        await page
          .locator('.editor-group-container.active .monaco-editor .view-lines')
          .first()
          .click({ position: { x: 5, y: 5 } });
        await page.keyboard.press('Control+Home');
        await page.keyboard.type('x'); // read-only: the editor refuses and says so
        const refusal = await page.locator('.monaco-editor-overlaymessage').first().textContent({ timeout: 10_000 });
        log('  typing in the view:', JSON.stringify(refusal?.trim()));
        if (!/read-only/i.test(refusal ?? '')) {
          throw new Error(`the formatted view took an edit: ${refusal}`);
        }
        await page
          .locator('.editor-group-container.active .monaco-editor .codelens-decoration a', { hasText: /^fc1 ·/ })
          .first()
          .click();
        await webviewFrame(page, 'table#layers tbody tr[data-layer="fc1"].highlight', 15_000);
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(artifacts, 'formatted-view.png') });
      },
    );

    await check('after a window reload the panel comes back with its results (WebviewPanelSerializer)', async () => {
      await page.reload();
      await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
      await page.locator('.tabs-container .tab', { hasText: 'WoodFisher: mlpnet' }).first().waitFor({ timeout: 60_000 });
      await page.locator('.tabs-container .tab', { hasText: 'WoodFisher: mlpnet' }).first().click();
      const frame = await webviewFrame(page, 'table#layers tbody tr[data-layer="fc3"]', 60_000);
      const status = await statusAfterReload(frame);
      if (!/^done/i.test(status)) {
        throw new Error(`#status after reload: '${status}'`);
      }
      const rows = await frame.$$eval('table#layers tbody tr[data-layer]', trs => trs.map(tr => tr.getAttribute('data-layer')));
      if (rows.join() !== LAYERS.join()) {
        throw new Error(`rows after reload: ${rows}`);
      }
      await page.screenshot({ path: path.join(artifacts, 'restored.png') });
    });

    await check(
      '"Sweep Sparsity" in the panel asks one-shot or gradual, sparsities and methods, then draws accuracy vs sparsity per method',
      async () => {
        let frame = await webviewFrame(page, 'button#sweep', 30_000);
        await frame.click('button#sweep');
        const pick = page.locator('.quick-input-widget');
        await pick.locator('.quick-input-title', { hasText: /one-shot or gradual/i }).waitFor({ timeout: 30_000 });
        const first = ((await pick.locator('.monaco-list-row').first().textContent()) ?? '').trim();
        if (!/^One-shot/.test(first)) {
          throw new Error(`a one-shot panel's sweep should offer one-shot first, got '${first}'`);
        }
        await page.keyboard.press('Enter'); // one-shot
        await pick.locator('.quick-input-title', { hasText: /sparsities/i }).waitFor({ timeout: 30_000 });
        await page.keyboard.press('Enter'); // the preselected sparsities
        await pick.locator('.quick-input-title', { hasText: /methods/i }).waitFor({ timeout: 30_000 });
        await page.keyboard.press('Enter'); // WoodFisher and global magnitude
        const deadline = Date.now() + RUN_TIMEOUT_MS;
        let status = '';
        for (;;) {
          frame = await webviewFrame(page, '#status', 30_000);
          status = ((await frame.textContent('#status')) ?? '').trim();
          if (/^done — \d+ sweep points/.test(status) || /^(error|cancelled)/.test(status)) {
            break;
          }
          if (Date.now() > deadline) {
            throw new Error(`sweep #status still '${status}'`);
          }
          await page.waitForTimeout(500);
        }
        log('  #status:', status);
        const points = Number(/(\d+) sweep points/.exec(status)?.[1]);
        if (!(points >= 4)) {
          throw new Error(`the sweep ended with '${status}'`);
        }
        const caption = ((await frame.textContent('#accuracy-caption')) ?? '').trim();
        log('  chart:', caption);
        if (!/sparsity/i.test(caption)) {
          throw new Error(`the accuracy chart is not the sweep's: '${caption}'`);
        }
        for (const x of await page.locator('.notifications-toasts .codicon-notifications-clear').all()) {
          await x.click({ timeout: 2000 }).catch(() => undefined);
        }
        await page.waitForTimeout(800);
        await page.screenshot({ path: path.join(artifacts, 'sweep.png') });
      },
    );

    await check('the sweep saves as SVG (log-density axis) and PNG', async () => {
      const frame = await webviewFrame(page, 'button#save-sweep-svg:not([hidden])', 15_000);
      await frame.click('button#save-sweep-svg');
      const svg = path.join(ws, 'mlpnet', 'mlpnet-sweep.svg');
      await acceptSaveDialog(svg);
      const text = fs.readFileSync(svg, 'utf8');
      if (!/log scale of density/.test(text) || !/<polyline/.test(text)) {
        throw new Error('the SVG lacks the density axis or the lines');
      }
      await frame.click('button[data-save="png"][data-chart="accuracy"]');
      const png = path.join(ws, 'mlpnet', 'mlpnet-sweep.png');
      await acceptSaveDialog(png);
      if (fs.readFileSync(png).subarray(1, 4).toString() !== 'PNG') {
        throw new Error('not a PNG');
      }
      log('  saved', svg, fs.statSync(svg).size, 'bytes;', png, fs.statSync(png).size, 'bytes');
    });

    await check('a 61-layer one-line model: the summary lens prunes it with its recipe; 61 bars and rows in its panel', async () => {
      await page.keyboard.press('Escape');
      await openFromExplorer('deep', 'model.json');
      await page.locator('.editor-group-container.active .monaco-breadcrumbs', { hasText: 'deep' }).first().waitFor({ timeout: 15_000 });
      const lens = page.locator('.editor-group-container.active .codelens-decoration a', {
        hasText: /not pruned yet — Prune with WoodFisher/,
      });
      await lens.first().waitFor({ timeout: 30_000 });
      log('  lenses:', JSON.stringify(await page.locator('.editor-group-container.active .codelens-decoration a').allTextContents()));
      await lens.first().click();
      await page.locator('.tabs-container .tab', { hasText: 'WoodFisher: deep' }).first().waitFor({ timeout: 30_000 });
      const deadline = Date.now() + RUN_TIMEOUT_MS;
      let frame = await webviewFrame(page, '#status', 30_000);
      for (;;) {
        frame = await webviewFrame(page, 'table#layers', 30_000);
        const status = ((await frame.textContent('#status')) ?? '').trim();
        if (/^done/.test(status)) {
          break;
        }
        if (/^(error|cancelled)/.test(status) || Date.now() > deadline) {
          throw new Error(`deep run: ${status}`);
        }
        await page.waitForTimeout(500);
      }
      const rows = await rowsIn(frame);
      if (rows.length !== 61) {
        throw new Error(`${rows.length} rows`);
      }
      for (const x of await page.locator('.notifications-toasts .codicon-notifications-clear').all()) {
        await x.click({ timeout: 2000 }).catch(() => undefined);
      }
      await page.waitForTimeout(800);
      await page.screenshot({ path: path.join(artifacts, 'panel-deep.png') });
      await page
        .locator('.editor-group-container .codelens-decoration a', { hasText: /^61 layers$/ })
        .first()
        .click();
      await page.locator('.outline-pane .monaco-list-row', { hasText: 'hidden_1' }).first().waitFor({ timeout: 20_000 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(artifacts, 'outline-deep.png') });
    });

    await check(
      'Layer Sensitivity on the 61-layer model: a heat table and chart per layer; a click writes the override into its recipe',
      async () => {
        let frame = await webviewFrame(page, 'button#sensitivity:not([disabled])', 30_000);
        await frame.click('button#sensitivity');
        const pick = page.locator('.quick-input-widget');
        await pick.locator('.quick-input-title', { hasText: /sensitivity/i }).waitFor({ timeout: 30_000 });
        await page.keyboard.press('Enter');
        const deadline = Date.now() + RUN_TIMEOUT_MS;
        let status = '';
        for (;;) {
          frame = await webviewFrame(page, '#sensitivity-status', 30_000);
          status = ((await frame.textContent('#sensitivity-status')) ?? '').trim();
          if (/each layer pruned alone/.test(status) || /^(error|cancelled)/.test(status)) {
            break;
          }
          if (Date.now() > deadline) {
            throw new Error(`sensitivity status '${status}'`);
          }
          await page.waitForTimeout(1000);
        }
        log('  sensitivity:', status);
        const rows = await frame.$$eval('table#sensitivity-table tbody tr[data-layer]', trs =>
          trs.map(tr => [tr.getAttribute('data-layer'), tr.querySelectorAll('button[data-sparsity]').length]),
        );
        if (rows.length !== 61 || rows.some(r => r[1] !== 4)) {
          throw new Error(`heat table: ${rows.length} rows, cells ${[...new Set(rows.map(r => r[1]))]}`);
        }
        await frame.locator('#sensitivity-section').scrollIntoViewIfNeeded();
        await page.waitForTimeout(500);
        await page.screenshot({ path: path.join(artifacts, 'sensitivity.png') });
        await frame.locator('table#sensitivity-table tbody tr[data-layer="hidden_5"] button[data-sparsity="0.75"]').click();
        await page.locator('.tabs-container .tab', { hasText: 'woodfisher.yaml' }).first().waitFor({ timeout: 15_000 });
        const lines = page.locator('.editor-group-container.active .view-lines');
        await lines
          .filter({ hasText: /hidden_5/ })
          .first()
          .waitFor({ timeout: 15_000 });
        const text = (await lines.first().textContent()) ?? '';
        log('  recipe now:', JSON.stringify(text.slice(0, 400)));
        if (!/sparsity:\s*0\.75/.test(text.replace(/\u00a0/g, ' '))) {
          throw new Error('no "sparsity: 0.75" under hidden_5 in the recipe');
        }
        await page.screenshot({ path: path.join(artifacts, 'sensitivity-override.png') });
      },
    );

    await check(
      '"Gradual Prune with WoodFisher…" asks for training data, sparsity and epochs; the panel draws the schedule and curves and survives a reload',
      async () => {
        // The 61-layer check left the deep model's panel open (its frame would answer for #status) and its folder expanded.
        for (const tab of await page.locator('.tabs-container .tab', { hasText: 'WoodFisher: deep' }).all()) {
          await tab.click({ button: 'middle' });
        }
        const deep = explorerRow('deep', 1);
        if ((await deep.count()) > 0 && (await deep.first().getAttribute('aria-expanded')) === 'true') {
          await deep.first().click();
        }
        const folder = explorerRow('mlpnet', 1);
        if ((await folder.getAttribute('aria-expanded')) !== 'true') {
          await folder.click();
        }
        await explorerRow('model.json', 2).first().click({ button: 'right' }); // mlpnet's (the outputs beside it have one too)
        const item = page.locator('.context-view .monaco-menu .action-item', { hasText: /^Gradual Prune with WoodFisher/ });
        await item.waitFor({ timeout: 10_000 });
        await page.waitForTimeout(300);
        await item.locator('.action-label').click();
        const pick = page.locator('.quick-input-widget');
        await pick.locator('.quick-input-title', { hasText: /training data/i }).waitFor({ timeout: 30_000 });
        await page.keyboard.type('calib-x.npy'); // 1,000 digits keep the run short
        await page.waitForTimeout(300);
        await page.keyboard.press('Enter');
        await pick.locator('.quick-input-title', { hasText: /labels/i }).waitFor({ timeout: 30_000 });
        await page.keyboard.type('calib-y.npy');
        await page.waitForTimeout(300);
        await page.keyboard.press('Enter');
        await pick.locator('.quick-input-title', { hasText: /final sparsity/i }).waitFor({ timeout: 30_000 });
        await page.keyboard.press('Enter'); // 80%
        await pick.locator('.quick-input-title', { hasText: /epochs/i }).waitFor({ timeout: 30_000 });
        await page.keyboard.press('Enter'); // 6 epochs
        const deadline = Date.now() + RUN_TIMEOUT_MS;
        let frame = await webviewFrame(page, '#gradual:not([hidden]) #chart-schedule', 60_000);
        let status = '';
        for (;;) {
          frame = await webviewFrame(page, '#status', 30_000);
          status = ((await frame.textContent('#status')) ?? '').trim();
          if (/^(done|error|cancelled)/.test(status)) {
            break;
          }
          if (Date.now() > deadline) {
            throw new Error(`gradual #status still '${status}'`);
          }
          await page.waitForTimeout(1000);
        }
        log('  #status:', status);
        if (!/^done/.test(status)) {
          throw new Error(`the gradual run ended with '${status}'`);
        }
        const title = ((await frame.textContent('#title')) ?? '').trim();
        if (!/gradual pruning/.test(title)) {
          throw new Error(`panel title '${title}'`);
        }
        const steps = await frame.$$eval('#gradual-steps li[data-step]', lis => lis.map(li => li.textContent ?? ''));
        log('  steps:', JSON.stringify(steps));
        if (steps.length !== 4 || !/reached 80\.00%/.test(steps[3])) {
          throw new Error(`pruning steps in the panel: ${JSON.stringify(steps)}`);
        }
        for (const id of ['#chart-schedule', '#chart-curves', '#chart-layer-sparsity']) {
          if (!(await frame.$(`canvas${id}`))) {
            throw new Error(`no canvas ${id} in the gradual section`);
          }
        }
        const rows = await frame.$$eval('table#layers tbody tr[data-layer]', trs => trs.map(tr => tr.getAttribute('data-layer')));
        if (rows.join() !== LAYERS.join()) {
          throw new Error(`layer rows after the gradual run: ${rows}`);
        }
        for (const x of await page.locator('.notifications-toasts .codicon-notifications-clear').all()) {
          await x.click({ timeout: 2000 }).catch(() => undefined);
        }
        await page.screenshot({ path: path.join(artifacts, 'gradual.png') });
        await page.reload();
        await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
        await page.locator('.tabs-container .tab', { hasText: 'WoodFisher: mlpnet' }).first().waitFor({ timeout: 60_000 });
        await page.locator('.tabs-container .tab', { hasText: 'WoodFisher: mlpnet' }).first().click();
        frame = await webviewFrame(page, '#gradual:not([hidden]) #gradual-steps li[data-step="3"]', 60_000);
        const restored = await statusAfterReload(frame);
        if (!/^done/.test(restored)) {
          throw new Error(`#status after reload: '${restored}'`);
        }
        await page.screenshot({ path: path.join(artifacts, 'gradual-restored.png') });
      },
    );

    await check(
      '"Sweep Sparsity" in the gradual panel offers a gradual sweep first and draws it: every point fine-tuned for the same epochs',
      async () => {
        let frame = await webviewFrame(page, '#gradual:not([hidden]) #gradual-steps li[data-step="3"]', 30_000); // the gradual panel
        await frame.click('button#sweep');
        const pick = page.locator('.quick-input-widget');
        const answered: string[] = [];
        for (;;) {
          // the questions depend on what the window remembers (the last gradual run's data and epochs, or none after a reload)
          const title = pick.locator('.quick-input-title');
          await title
            .filter({ hasText: /one-shot or gradual|training data|labels|epochs|sparsities|methods/i })
            .waitFor({ timeout: 30_000 });
          const t = ((await title.textContent()) ?? '').trim();
          if (answered.at(-1) === t) {
            await page.waitForTimeout(200); // the same question, not yet replaced
            continue;
          }
          answered.push(t);
          if (/one-shot or gradual/i.test(t)) {
            const first = ((await pick.locator('.monaco-list-row').first().textContent()) ?? '').trim();
            if (!/^Gradual/.test(first)) {
              throw new Error(`a gradual panel's sweep should offer gradual first, got '${first}'`);
            }
          } else if (/labels/i.test(t)) {
            await page.keyboard.type('calib-y.npy'); // "labels of the training data": before the training data itself
          } else if (/training data/i.test(t)) {
            await page.keyboard.type('calib-x.npy');
          }
          if (/sparsities|methods/i.test(t)) {
            // a multi-select: Enter accepts what is checked, so wait until the preselected rows are
            await pick.locator('.monaco-list-row[aria-checked="true"]').first().waitFor({ timeout: 30_000 });
          }
          await page.waitForTimeout(300);
          await page.keyboard.press('Enter'); // gradual, the data, 6 epochs, 95% and 98%, WoodFisher and global magnitude
          if (/methods/i.test(t)) {
            break;
          }
        }
        log('  questions:', JSON.stringify(answered));
        const deadline = Date.now() + RUN_TIMEOUT_MS * 2;
        let status = '';
        // the progress notification while it runs: "run 2/4 · epoch 3/6, batch 5/16 · 45%", moving with every epoch
        const progressLines: string[] = [];
        for (;;) {
          for (const line of await page
            .locator('.notifications-toasts .notification-list-item-message')
            .allTextContents()
            .catch(() => [] as string[])) {
            const shown = /run \d+\/\d+ · .*$/.exec(line)?.[0]; // after the title ("WoodFisher: Gradually sweeping mlpnet: run …")
            if (shown && progressLines.at(-1) !== shown) {
              progressLines.push(shown);
            }
          }
          frame = await webviewFrame(page, '#status', 30_000);
          status = ((await frame.textContent('#status')) ?? '').trim();
          if (/^done — \d+ sweep points/.test(status) || /^(error|cancelled)/.test(status)) {
            break;
          }
          if (Date.now() > deadline) {
            throw new Error(`gradual sweep #status still '${status}'`);
          }
          await page.waitForTimeout(500);
        }
        log('  #status:', status);
        log('  progress:', JSON.stringify(progressLines.slice(0, 3)), '…', JSON.stringify(progressLines.slice(-2)));
        const epochs = progressLines.filter(l => /^run \d+\/4 · epoch \d+\/\d+, batch \d+\/\d+ · \d+%$/.test(l));
        const percents = epochs.map(l => Number(/(\d+)%$/.exec(l)![1]));
        if (new Set(percents).size < 3 || percents.some((p, i) => i > 0 && p < percents[i - 1])) {
          throw new Error(`the notification did not advance with the epochs: ${JSON.stringify(progressLines)}`);
        }
        if (Number(/(\d+) sweep points/.exec(status)?.[1]) !== 4) {
          throw new Error(`the gradual sweep ended with '${status}'`);
        }
        const title = ((await frame.textContent('#title')) ?? '').trim();
        const caption = ((await frame.textContent('#accuracy-caption')) ?? '').trim();
        log('  title:', title, '· chart:', caption);
        if (!/gradual sparsity sweep \(\d+ epochs per point\)/.test(title) || !/gradual/.test(caption)) {
          throw new Error(`the panel does not say the sweep is gradual: '${title}' / '${caption}'`);
        }
        for (const x of await page.locator('.notifications-toasts .codicon-notifications-clear').all()) {
          await x.click({ timeout: 2000 }).catch(() => undefined);
        }
        await page.waitForTimeout(800);
        await page.screenshot({ path: path.join(artifacts, 'gradual-sweep.png') });
      },
    );
  } finally {
    await browser.close();
  }
  return { passed, failed };
}

main().then(
  ({ passed, failed }) => {
    console.log(`WOODFISHER_RESULT suite=ui passed=${passed} failed=${failed}`);
    process.exit(failed ? 1 : 0);
  },
  e => {
    console.error('ui: harness failure:', e);
    console.log('WOODFISHER_RESULT suite=ui passed=0 failed=1');
    process.exit(2);
  },
);
