import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Database } from 'appendlog';
import { type Browser, chromium } from 'playwright-core';
import { createApp } from '../src/app.js';

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  return (
    `${CHROMIUM} is missing, so the browser tests cannot run. Install Debian's Chromium ` +
    '(apt-get update && apt-get install -y chromium; .ci/run does it), or set APPENDLOG_SKIP_BROWSER=1 to skip them.'
  );
}

/** Serves the app on a free local port. */
export async function startServer(db: Database): Promise<{ url: string; close(): Promise<void> }> {
  const app = createApp(db);
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/**
 * Headless Chromium. Playwright gives every launch a fresh temporary `--user-data-dir` of its
 * own (it refuses the flag in `args`) and deletes it on close.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
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
