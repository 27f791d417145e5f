// docs/tutorial.md cannot drift from the code: this test runs every ```ts block of it, in order,
// against embedded PGlite, type-checks them, compares what they print with the tutorial's
// ```… output blocks, and checks that every excerpt of the app is really in the app's source.
//
// Fences: ```ts                     appended to the tutorial's script, run in order
//         ```ts file=schema.ts      written as that file next to the script (whole file)
//         ```<lang> output          what the script prints, lines in order; … stands for anything
//         ```<lang> excerpt=<path>  lines that appear, in order, in that file of the repository
//         anything else (```sh, ```ts no-run …) is not run
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tutorialPath = join(repo, 'docs', 'tutorial.md');

interface Block {
  lang: string;
  attrs: Record<string, string | true>;
  code: string;
  line: number;
}

/** The fenced code blocks of a Markdown text, with their info strings parsed. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!);
    const attrs: Record<string, string | true> = {};
    for (const word of open[2]!.split(/\s+/).filter(Boolean)) {
      const eq = word.indexOf('=');
      if (eq === -1) attrs[word] = true;
      else attrs[word.slice(0, eq)] = word.slice(eq + 1);
    }
    blocks.push({ lang: open[1]!, attrs, code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/**
 * Checks that the lines of `expected` occur in `actual`, in order, each matching a whole line
 * (surrounding spaces ignored). `…` matches anything within a line; a line of only `…` or `// …`
 * stands for lines left out. Returns the first line not found, or null.
 */
export function missingLine(expected: string, actual: string): string | null {
  const have = actual.split('\n').map((l) => l.trim());
  let at = 0;
  for (const raw of expected.split('\n')) {
    const want = raw.trim();
    if (want === '' || want === '…' || want === '// …' || want === '-- …') continue;
    const pattern = new RegExp(`^${want.split('…').map(escapeRegExp).join('.*')}$`);
    const found = have.findIndex((l, i) => i >= at && pattern.test(l));
    if (found === -1) return raw;
    at = found + 1;
  }
  return null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('docs/tutorial.md', () => {
  const blocks = codeBlocks(readFileSync(tutorialPath, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'appendlog-tutorial-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has runnable blocks, output blocks and excerpts', () => {
    expect(blocks.filter((b) => b.lang === 'ts' && Object.keys(b.attrs).length === 0).length).toBeGreaterThan(
      5,
    );
    expect(blocks.filter((b) => b.attrs.output).length).toBeGreaterThan(3);
    expect(blocks.filter((b) => typeof b.attrs.excerpt === 'string').length).toBeGreaterThan(2);
  });

  it('runs every ts block in order and prints what the tutorial says', async () => {
    const script: string[] = [];
    for (const b of blocks) {
      if (b.lang !== 'ts') continue;
      if (typeof b.attrs.file === 'string') writeFileSync(join(dir, b.attrs.file), `${b.code}\n`);
      else if (Object.keys(b.attrs).length === 0)
        script.push(`// docs/tutorial.md line ${b.line}\n${b.code}`);
    }
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
    const [typecheck, { stdout }] = await Promise.all([
      run(process.execPath, [tsc, '-p', dir], { cwd: dir }).catch((e: { stdout: string }) => e),
      run(process.execPath, ['--import', 'tsx', join(dir, 'tutorial.ts')], {
        cwd: dir,
        env: { ...process.env, DATABASE_URL: '' },
      }),
    ]);
    expect(typecheck.stdout, 'the tutorial code type-checks').toBe('');
    for (const b of blocks.filter((x) => x.attrs.output)) {
      expect(
        missingLine(b.code, stdout),
        `output block at docs/tutorial.md line ${b.line}\n--- printed:\n${stdout}`,
      ).toBeNull();
    }
  }, 120_000);

  it('quotes the app exactly as it is', () => {
    for (const b of blocks) {
      if (typeof b.attrs.excerpt !== 'string') continue;
      const source = readFileSync(join(repo, b.attrs.excerpt), 'utf8');
      expect(
        missingLine(b.code, source),
        `excerpt at docs/tutorial.md line ${b.line} (${b.attrs.excerpt})`,
      ).toBeNull();
    }
  });

  it('matches lines in order, with … for what is left out', () => {
    expect(missingLine('a\n…\nc', 'a\nb\nc')).toBeNull();
    expect(missingLine('x = …;', 'x = 42;')).toBeNull();
    expect(missingLine('c\na', 'a\nb\nc')).toBe('a');
    expect(missingLine('b', 'abc')).toBe('b');
  });
});
