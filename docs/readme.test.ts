// README.md's TypeScript example runs as written (against embedded PGlite), so it cannot drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { codeBlocks, repo, runSnippet } from './support/snippets.js';

it('the README example runs and its history is chained', async () => {
  const blocks = codeBlocks(readFileSync(join(repo, 'README.md'), 'utf8')).filter((b) => b.lang === 'ts');
  expect(blocks.length).toBeGreaterThan(0);
  const checks = `
const history = await book.history(v1.entryId);
if (history.length !== 4 || history[1].parentHash !== history[0].hash) throw new Error('unexpected history');
console.log('README OK', history.map((v) => v.op).join(','));
await db.close();`;
  // Not type-checked: the checks appended above index arrays without the strict-mode guards.
  const { stdout } = await runSnippet({
    script: `${blocks.map((b) => b.code).join('\n')}\n${checks}`,
    typecheck: false,
  });
  expect(stdout).toContain('README OK insert,update,delete,restore');
}, 60_000);
