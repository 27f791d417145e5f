// `npm start` when its port is taken: one line naming PORT, before the database is opened or seeded.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const app = fileURLToPath(new URL('..', import.meta.url));

describe('the server', () => {
  let taken: Server;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'address-book-port-'));
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a taken port: one line naming PORT, exit 1, no database made', async () => {
    const data = join(dir, 'data');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: app,
      env: { ...process.env, PORT: String(port), DATA_DIR: data, DATABASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `Port ${port} is in use: stop what runs there, or start on another port, e.g. PORT=${port + 1} npm start\n`,
    );
    expect(existsSync(data)).toBe(false);
  });
});
