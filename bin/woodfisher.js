#!/usr/bin/env node
// The `woodfisher` command: the bundled CLI (npm run build writes dist/cli.js).
require('../dist/cli.js').runAndExit(process.argv);
