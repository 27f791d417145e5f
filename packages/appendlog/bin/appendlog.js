#!/usr/bin/env node
// The `appendlog` command: runs the compiled CLI in dist/. This file is not built, so npm can
// link it as the command even before dist/ exists (in a fresh clone, `npm install` links bins
// first and then builds dist/ in the root's prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  const pkg = fileURLToPath(new URL('..', import.meta.url));
  console.error(
    `appendlog: the command is not built (${fileURLToPath(main)} is missing); run \`npm run build\` in ${pkg}`,
  );
  process.exit(2);
}
await import(main.href);
