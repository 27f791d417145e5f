// README.md's TypeScript example runs as written (against embedded PGlite), so it cannot drift.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { codeBlocks } from '../examples/address-book/test/markdown.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../', import.meta.url));

it('the README example runs and its history is chained', async () => {
  const blocks = codeBlocks(readFileSync(join(repo, 'README.md'), 'utf8')).filter((b) => b.lang === 'ts');
  expect(blocks.length).toBeGreaterThan(0);
  const dir = mkdtempSync(join(tmpdir(), 'appendlog-readme-'));
  try {
    const checks = `
const history = await book.history(v1.entryId);
if (history.length !== 4 || history[1].parentHash !== history[0].hash) throw new Error('unexpected history');
console.log('README OK', history.map((v) => v.op).join(','));
await db.close();`;
    writeFileSync(join(dir, 'readme.ts'), `${blocks.map((b) => b.code).join('\n')}\n${checks}\n`);
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(dir, 'readme.ts')], { cwd: dir });
    expect(stdout).toContain('README OK insert,update,delete,restore');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
