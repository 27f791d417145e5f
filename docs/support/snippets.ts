// Reading fenced code blocks out of Markdown and running them, for the tests that keep the README
// and the tutorials true to the code.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The repository root. */
export const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface Block {
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

/**
 * Makes a reader's project as a tutorial does: runs its install commands (`sh` lines, in order,
 * in one shell) in a scratch folder that also holds `appendlog`, a link to this repository
 * standing for the reader's clone. Returns the scratch folder and the folder the commands ended
 * in (the project). npm may answer from its cache (prefer-offline): what is installed is the same.
 *
 * @example
 * const { root, project } = await installProject('mkdir app && cd app\nnpm init -y');
 */
export async function installProject(commands: string): Promise<{ root: string; project: string }> {
  const root = mkdtempSync(join(tmpdir(), 'appendlog-tutorial-'));
  symlinkSync(repo, join(root, 'appendlog'), 'dir');
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_prefer_offline: 'true' };
  for (const key of Object.keys(env))
    if (key.startsWith('npm_') && key !== 'npm_config_prefer_offline') delete env[key];
  try {
    const { stdout } = await run('sh', ['-e', '-c', `${commands}\npwd`], { cwd: root, env });
    return { root, project: stdout.trimEnd().split('\n').at(-1)! };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

export interface SnippetRun {
  /** What the script printed. */
  stdout: string;
  /** What `tsc` printed for the script (empty when it type-checks); null when not checked. */
  typecheck: string | null;
}

/**
 * Runs documentation code as a reader would: `script` (plus any `files`) in a scratch ES module
 * project that resolves `appendlog` through the repository's node_modules (the built package),
 * with tsx, on embedded PGlite (DATABASE_URL cleared), and type-checks it at the same time unless
 * `typecheck` is false. The scratch folder is removed afterwards.
 *
 * @example
 * const { stdout, typecheck } = await runSnippet({ script: blocks.map((b) => b.code).join('\n') });
 */
export async function runSnippet(options: {
  script: string;
  files?: Record<string, string>;
  typecheck?: boolean;
  /** A project `installProject` made: the code runs there, with `npx tsx <name>`, on its own packages. */
  project?: { dir: string; name: string };
}): Promise<SnippetRun> {
  const project = options.project;
  const dir = project?.dir ?? mkdtempSync(join(tmpdir(), 'appendlog-snippet-'));
  const name = project?.name ?? 'snippet.ts';
  try {
    for (const [file, code] of Object.entries(options.files ?? {}))
      writeFileSync(join(dir, file), `${code}\n`);
    writeFileSync(join(dir, name), `${options.script}\n`);
    if (!project) writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(repo, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true, types: ['node'] },
        include: ['*.ts'],
      }),
    );
    if (!project) symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const tsc = join(project ? dir : repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const env = { ...process.env, DATABASE_URL: '' };
    const [checked, executed] = await Promise.all([
      options.typecheck === false
        ? null
        : run(process.execPath, [tsc, '-p', dir], { cwd: dir }).catch((e: { stdout: string }) => e),
      project
        ? run('npx', ['tsx', name], { cwd: dir, env })
        : run(process.execPath, ['--import', 'tsx', join(dir, name)], { cwd: dir, env }),
    ]);
    return { stdout: executed.stdout, typecheck: checked === null ? null : checked.stdout };
  } finally {
    if (!project) rmSync(dir, { recursive: true, force: true });
  }
}
