// docs/tutorial-add-a-column.md cannot drift from the code: this test type-checks and runs its
// ```ts blocks, in order, as one script against embedded PGlite (through the built package, as a
// reader would), and compares what the script prints with the page's ```text output blocks.
// Fences follow docs/tutorial.md: ```ts runs; ```<lang> output is printed output; others (```sh) do not run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeBlocks, repo, runSnippet } from '../../../docs/support/snippets.js';

const page = join(repo, 'docs', 'tutorial-add-a-column.md');

describe('docs/tutorial-add-a-column.md', () => {
  const blocks = codeBlocks(readFileSync(page, 'utf8'));

  it('type-checks, runs, and prints exactly what the page shows', async () => {
    const script = blocks
      .filter((b) => b.lang === 'ts' && Object.keys(b.attrs).length === 0)
      .map((b) => `// docs/tutorial-add-a-column.md line ${b.line}\n${b.code}`);
    const expected = blocks.filter((b) => b.attrs.output === true).flatMap((b) => b.code.split('\n'));
    expect(script.length).toBeGreaterThan(6);
    expect(expected.length).toBeGreaterThan(10);
    const { stdout, typecheck } = await runSnippet({ script: script.join('\n\n') });
    expect(typecheck, 'the tutorial code type-checks').toBe('');
    expect(stdout.trimEnd().split('\n')).toEqual(expected);
  }, 120_000);
});
