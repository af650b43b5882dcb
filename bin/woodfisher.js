#!/usr/bin/env node
// The `woodfisher` command: the bundled CLI (dist/cli.js, written by `npm run build`; `npm ci` and `npm pack` build it).
const path = require('node:path');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!require('node:fs').existsSync(cli)) {
  process.stderr.write(`woodfisher: ${cli} is missing: run \`npm run build\` in ${path.dirname(__dirname)} first\n`);
  process.exit(1);
}
require(cli).runAndExit(process.argv);
