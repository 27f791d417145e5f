// docs/tutorial-add-a-column.md cannot drift from the code: this test type-checks and runs its
// ```ts blocks, in order, as one script against embedded PGlite (through the built package, as a
// reader would), and compares what the script prints with the page's ```text output blocks.
// Fences follow docs/tutorial.md: ```ts runs; ```<lang> output is printed output; others (```sh) do not run.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../../..');
const page = join(repo, 'docs', 'tutorial-add-a-column.md');

interface Block {
  info: string[];
  code: string;
  line: number;
}

function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!);
    blocks.push({ info: open[1]!.split(/\s+/).filter(Boolean), code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

describe('docs/tutorial-add-a-column.md', () => {
  const blocks = codeBlocks(readFileSync(page, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'appendlog-add-a-column-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('type-checks, runs, and prints exactly what the page shows', async () => {
    const script = blocks
      .filter((b) => b.info.length === 1 && b.info[0] === 'ts')
      .map((b) => `// docs/tutorial-add-a-column.md line ${b.line}\n${b.code}`);
    const expected = blocks.filter((b) => b.info[1] === 'output').flatMap((b) => b.code.split('\n'));
    expect(script.length).toBeGreaterThan(6);
    expect(expected.length).toBeGreaterThan(10);
    writeFileSync(join(dir, 'tutorial.ts'), `${script.join('\n\n')}\n`);
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(repo, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true, types: ['node'] },
        include: ['*.ts'],
      }),
    );
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const [typecheck, executed] = await Promise.all([
      run(process.execPath, [tsc, '-p', dir], { cwd: dir }).catch((e: { stdout: string }) => e),
      run(process.execPath, ['--import', 'tsx', join(dir, 'tutorial.ts')], {
        cwd: dir,
        env: { ...process.env, DATABASE_URL: '' },
      }),
    ]);
    expect(typecheck.stdout, 'the tutorial code type-checks').toBe('');
    expect(executed.stdout.trimEnd().split('\n')).toEqual(expected);
  }, 120_000);
});
