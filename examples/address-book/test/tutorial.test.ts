// docs/tutorial.md cannot drift from the code: this test runs every ```ts block of it, in order,
// against embedded PGlite, type-checks them, compares what they print with the tutorial's
// ```… output blocks, and checks that every excerpt of the app is really in the app's source.
//
// Fences: ```ts                     appended to the tutorial's script, run in order
//         ```ts file=schema.ts      written as that file next to the script (whole file)
//         ```<lang> output          what the script prints, lines in order; … stands for anything
//         ```<lang> excerpt=<path>  lines that appear, in order, in that file of the repository
//         ```sh run                 install commands: run as written, in order, in one shell, in a
//                                   scratch folder beside a link to this repository (the reader's
//                                   clone); the ts blocks then run in the project they made
//         anything else (```sh, ```ts no-run …) is not run
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeBlocks, installProject, missingLine, repo, runSnippet } from '../../../docs/support/snippets.js';

const tutorialPath = join(repo, 'docs', 'tutorial.md');

describe('docs/tutorial.md', () => {
  const blocks = codeBlocks(readFileSync(tutorialPath, 'utf8'));
  /** The ```sh run blocks, in order: what the reader types to install. */
  const installCommands = () =>
    blocks
      .filter((b) => b.lang === 'sh' && b.attrs.run === true)
      .map((b) => b.code)
      .join('\n');

  it('has runnable blocks, output blocks and excerpts', () => {
    expect(blocks.filter((b) => b.lang === 'ts' && Object.keys(b.attrs).length === 0).length).toBeGreaterThan(
      5,
    );
    expect(blocks.filter((b) => b.attrs.output).length).toBeGreaterThan(3);
    expect(blocks.filter((b) => typeof b.attrs.excerpt === 'string').length).toBeGreaterThan(2);
  });

  it('pins what it installs to the versions the repository is tested with', () => {
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    const pins = [...installCommands().matchAll(/(?<=\s)((?:@[\w.-]+\/)?[\w.-]+)@(\S+)/g)];
    expect(pins.length).toBeGreaterThan(5);
    for (const [, name, version] of pins)
      expect(version, name).toBe(lock.packages[`node_modules/${name}`]?.version);
  });

  it('installs as the reader does, runs every ts block in order and prints what the tutorial says', async () => {
    const script: string[] = [];
    const files: Record<string, string> = {};
    for (const b of blocks) {
      if (b.lang !== 'ts') continue;
      if (typeof b.attrs.file === 'string') files[b.attrs.file] = b.code;
      else if (Object.keys(b.attrs).length === 0)
        script.push(`// docs/tutorial.md line ${b.line}\n${b.code}`);
    }
    const { root, project } = await installProject(installCommands());
    let run: Awaited<ReturnType<typeof runSnippet>>;
    try {
      expect(project).toBe(join(realpathSync(root), 'address-book'));
      // The reader runs `npx tsx tutorial.ts` in the project (section 4).
      expect(readFileSync(tutorialPath, 'utf8')).toContain('you run it\nwith `npx tsx tutorial.ts`');
      run = await runSnippet({
        script: script.join('\n\n'),
        files,
        project: { dir: project, name: 'tutorial.ts' },
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const { stdout, typecheck } = run;
    expect(typecheck, 'the tutorial code type-checks').toBe('');
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
