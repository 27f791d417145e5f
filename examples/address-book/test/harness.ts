import { accessSync, constants, existsSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { serve } from '@hono/node-server';
import type { Database } from 'appendlog';
import { type Browser, chromium } from 'playwright-core';
import { createApp } from '../src/app.js';
import { LiveFeed } from '../src/live/feed.js';

/**
 * The Chromium the browser tests drive: `$CHROMIUM` if set, else the first `chromium` or
 * `chromium-browser` on PATH (Debian's package installs /usr/bin/chromium). Null when there is
 * none. The tests never download a browser.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CHROMIUM) return existsSync(env.CHROMIUM) ? env.CHROMIUM : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const path = join(dir, name);
      if (dir !== '' && isExecutable(path)) return path;
    }
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Why the browser tests cannot run here (a short reason), or null when they can. */
export function browserMissing(): string | null {
  if (findChromium() !== null) return null;
  return process.env.CHROMIUM
    ? `CHROMIUM=${process.env.CHROMIUM} is not there`
    : 'no chromium on PATH; apt-get install chromium, or set CHROMIUM to a Chromium binary';
}

/** Serves the app on a free local port. */
export async function startServer(db: Database): Promise<{ url: string; close(): Promise<void> }> {
  const live = new LiveFeed(db);
  const app = createApp(db, { live });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        async close() {
          await live.close();
          // Event streams still open would keep the server from closing.
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

/**
 * Headless Chromium. Playwright gives every launch a fresh temporary `--user-data-dir` of its
 * own (it refuses the flag in `args`) and deletes it on close.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === null) throw new Error(`cannot launch Chromium: ${browserMissing()}`);
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
