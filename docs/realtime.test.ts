// docs/realtime.md's warehouse example cannot drift from the code: its ```ts blocks, in order, are
// type-checked and run as one script against embedded PGlite (through the built package, as a
// reader would), and what it prints must be the page's ```text output blocks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeBlocks, repo, runSnippet } from './support/snippets.js';

const page = join(repo, 'docs', 'realtime.md');

describe('docs/realtime.md', () => {
  const blocks = codeBlocks(readFileSync(page, 'utf8'));

  it('the warehouse example type-checks, runs, and prints exactly what the page shows', async () => {
    const script = blocks
      .filter((b) => b.lang === 'ts' && Object.keys(b.attrs).length === 0)
      .map((b) => `// docs/realtime.md line ${b.line}\n${b.code}`);
    const expected = blocks.filter((b) => b.attrs.output === true).flatMap((b) => b.code.split('\n'));
    expect(script.length).toBeGreaterThan(4);
    expect(expected.length).toBeGreaterThan(8);
    const { stdout, typecheck } = await runSnippet({ script: script.join('\n\n') });
    expect(typecheck, 'the example type-checks').toBe('');
    expect(stdout.trimEnd().split('\n')).toEqual(expected);
  }, 120_000);
});
