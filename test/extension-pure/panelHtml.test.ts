// The panel page: webview/index.html filled by the host, and the DOM contract webview/*.ts relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fillTemplate, panelHtml } from '../../src/extension/panelHtml';

const WEBVIEW = path.resolve(__dirname, '../../webview');
const template = fs.readFileSync(path.join(WEBVIEW, 'index.html'), 'utf8');
const page = { cspSource: 'vscode-resource:', script: 'https://x/main.js', style: 'https://x/style.css', title: 'mlp <"&"> net' };

test('every placeholder is filled; the title is escaped; the only script runs by nonce under a strict CSP', () => {
  const html = panelHtml(template, page, 'NONCE42');
  assert.doesNotMatch(html, /\{\{/);
  assert.match(html, /<title>WoodFisher: mlp &lt;&quot;&amp;&quot;&gt; net<\/title>/);
  assert.match(html, /<h1 id="title">mlp &lt;&quot;&amp;&quot;&gt; net<\/h1>/);
  assert.match(html, /content="default-src 'none'; script-src 'nonce-NONCE42'; style-src vscode-resource:;/);
  assert.deepEqual(
    [...html.matchAll(/<script[^>]*>/g)].map(m => m[0]),
    ['<script nonce="NONCE42" src="https://x/main.js">'],
  );
  assert.match(html, /<link rel="stylesheet" href="https:\/\/x\/style.css">/);
  assert.notEqual(panelHtml(template, page), panelHtml(template, page), 'a fresh nonce per page');
});

test('a placeholder without a value fails loudly', () => {
  assert.throws(() => fillTemplate('<p>{{missing}}</p>', {}), /no value for \{\{missing\}\}/);
  assert.equal(fillTemplate('{{a}}-{{a}} {b}', { a: '1' }), '1-1 {b}');
});

test('every element id the webview scripts look up is in the markup', () => {
  const ids = new Set([...template.matchAll(/\sid="([^"]+)"/g)].map(m => m[1]));
  const wanted = new Set<string>();
  for (const f of fs.readdirSync(WEBVIEW).filter(f => f.endsWith('.ts'))) {
    const src = fs.readFileSync(path.join(WEBVIEW, f), 'utf8');
    for (const m of src.matchAll(/(?:getElementById|\$(?:<[^>]+>)?)\(\s*'([^']+)'\s*\)/g)) wanted.add(m[1]);
    for (const m of src.matchAll(/\[\s*'([a-z-]+)'\s*,\s*'[A-Za-z]+'\s*\]/g)) wanted.add(m[1]); // main.ts's button table
    for (const m of src.matchAll(/#([a-z][\w-]*)/g)) if (!/^[0-9a-f]{3,8}$/i.test(m[1])) wanted.add(m[1]);
  }
  assert.ok(wanted.size >= 15, `found ${wanted.size} ids in webview/*.ts`);
  const missing = [...wanted].filter(id => !ids.has(id));
  assert.deepEqual(missing, [], `ids used by webview/*.ts but not in webview/index.html: ${missing.join(', ')}`);
});
