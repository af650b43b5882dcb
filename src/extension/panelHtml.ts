// The panel's page: webview/index.html with its {{placeholders}} filled — a strict CSP whose only script is the
// bundle, allowed by a fresh nonce. No vscode import: unit-tested on its own (test/extension-pure/panelHtml.test.ts).
import * as crypto from 'node:crypto';

export interface PanelPage {
  cspSource: string; // webview.cspSource
  script: string; // webview URI of dist/webview/main.js
  style: string; // webview URI of dist/webview/style.css
  title: string; // plain text (escaped here)
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Replaces every {{name}} with values[name]; a placeholder without a value is a build error, not a blank. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`panel template: no value for {{${name}}}`);
    return values[name];
  });
}

export function panelHtml(template: string, page: PanelPage, nonce = crypto.randomBytes(16).toString('base64')): string {
  const csp = [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${page.cspSource}`,
    `img-src ${page.cspSource} data:`,
    `font-src ${page.cspSource}`,
  ].join('; ');
  return fillTemplate(template, { csp, nonce, script: page.script, style: page.style, title: escapeHtml(page.title) });
}
