#!/usr/bin/env node
// The compiled CLI, bundled, lives in dist/bundle/ (built by `npm install` through the prepare
// script: tsc, then bin/build-bundle.js).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/bundle/bin/cli.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('netprov: not built yet; run `npm install` (or `npm run build`) in the netprov folder\n');
  process.exit(2);
}
await import(compiled.href);
