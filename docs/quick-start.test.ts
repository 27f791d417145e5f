// The README's quick start, as a newcomer runs it: its two commands in a fresh clone, on a machine
// with no PostgreSQL (no DATABASE_URL) and no Chromium (hidden from PATH). `npm install && npm start`
// must serve the Address Book, `npx appendlog` must work right after the install, and `npm test`
// must pass, saying once that it skipped the PostgreSQL and the browser tests.
//
// It installs and runs the whole suite again inside the clone, several minutes on a small machine,
// so it runs only when APPENDLOG_TEST_FRESH_CLONE=1 (.ci/run sets it). It clones the commit at
// HEAD: uncommitted changes are not in it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlocks, repo } from './support/snippets.js';

const enabled = process.env.APPENDLOG_TEST_FRESH_CLONE === '1';

/** The README's quick-start commands, comments dropped. */
function quickStart(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = codeBlocks(section).find((b) => b.lang === 'sh');
  if (!block) throw new Error('README.md has no sh block under "## Quick start"');
  return block.code
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

/** PATH with every directory holding a Chromium replaced by a copy of links to all else in it. */
function pathWithoutChromium(scratch: string): string {
  const names = new Set(['chromium', 'chromium-browser', 'google-chrome']);
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir, i) => {
      if (!dir || !existsSync(dir) || !readdirSync(dir).some((n) => names.has(n))) return dir;
      const shadow = join(scratch, `path-${i}`);
      mkdirSync(shadow);
      for (const name of readdirSync(dir))
        if (!names.has(name)) symlinkSync(join(dir, name), join(shadow, name));
      return shadow;
    })
    .join(delimiter);
}

/** The environment of a newcomer's shell: no database, no test settings of this run. */
function newcomerEnv(scratch: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(DATABASE_URL|CHROMIUM|APPENDLOG_|VITEST|npm_|NODE_OPTIONS$|TEST$|NODE_ENV$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, PATH: pathWithoutChromium(scratch), PORT: String(port) };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Runs a shell command line in the clone; resolves with its exit code and output. */
function sh(
  line: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string; done: Promise<number | null> } {
  const child = spawn('sh', ['-c', line], { cwd, env, detached: true });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => output, done };
}

(enabled ? describe : describe.skip)(
  'README quick start in a fresh clone (APPENDLOG_TEST_FRESH_CLONE=1)',
  () => {
    const scratch = mkdtempSync(join(tmpdir(), 'appendlog-fresh-clone-'));
    const clone = join(scratch, 'appendlog');
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('npm install && npm start serves the app; npx appendlog works; npm test passes with one notice per skip', async () => {
      const [start, test] = quickStart();
      expect(start).toBe('npm install && npm start');
      expect(test).toBe('npm test');
      const head = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      execFileSync('git', ['clone', '--quiet', repo, clone]);
      execFileSync('git', ['-C', clone, 'checkout', '--quiet', head]);
      const port = await freePort();
      const env = newcomerEnv(scratch, port);
      expect(execFileSync('sh', ['-c', 'command -v chromium || true'], { env, encoding: 'utf8' })).toBe('');

      // The bin is linked before dist/ is built: it must work right after the install all the same.
      const install = sh('npm install', clone, env);
      expect(await install.done, install.output()).toBe(0);
      const version = sh('npx appendlog --version', clone, env);
      expect(await version.done, version.output()).toBe(0);
      expect(version.output()).toMatch(/^\d+\.\d+\.\d+\n$/);

      const server = sh(start!, clone, env);
      try {
        const deadline = Date.now() + 300_000;
        while (!server.output().includes(`Address Book at http://localhost:${port}`)) {
          if (Date.now() > deadline || server.child.exitCode !== null) throw new Error(server.output());
          await new Promise((r) => setTimeout(r, 250));
        }
        // Signed out, the app sends a visitor to sign in; the first start printed the demo accounts.
        const base = `http://localhost:${port}`;
        const home = await fetch(`${base}/`, { redirect: 'manual' });
        expect([home.status, home.headers.get('location')]).toEqual([303, '/signin?next=%2F']);
        const password = /^\s+carol\s+(\S+)\s+\(viewer\)$/m.exec(server.output())?.[1];
        expect(password, server.output()).toBeDefined();
        const form = await fetch(`${base}/signin`);
        const csrf = form.headers
          .getSetCookie()
          .find((c) => c.startsWith('csrf='))!
          .split(';')[0]!;
        const token = /name="_csrf" value="([0-9a-f]+)"/.exec(await form.text())![1]!;
        const signIn = await fetch(`${base}/signin`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: csrf, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: token, login: 'carol', password: password!, next: '/' }),
        });
        expect(signIn.status).toBe(303);
        const session = signIn.headers
          .getSetCookie()
          .find((c) => c.startsWith('session='))!
          .split(';')[0]!;
        const page = await fetch(`${base}/`, { headers: { cookie: `${csrf}; ${session}` } });
        expect(page.status).toBe(200);
        const html = await page.text();
        expect(html).toContain('<h1>People</h1>');
        expect(html).toContain('Signed in as <a href="/account">Carol</a>');
      } finally {
        process.kill(-server.child.pid!, 'SIGTERM');
        await server.done;
      }

      const suite = sh(test!, clone, env);
      const code = await suite.done;
      const output = suite.output();
      expect(code, output.slice(-5000)).toBe(0);
      expect(output.match(/PostgreSQL tests SKIPPED/g)).toHaveLength(1);
      expect(output.match(/Browser tests SKIPPED/g)).toHaveLength(1);
    }, 1_800_000);
  },
);
