import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Deps, Env } from '../context.js';
import type { LiveChange } from './feed.js';

const script = readFileSync(new URL('./client.js', import.meta.url), 'utf8');
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000;

/** `GET /live.js`, the pages' live-update script, and `GET /events`, the stream it listens to. */
export function liveRoutes({ live }: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/live.js', (c) =>
    c.body(script, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'max-age=300',
    }),
  );
  app.get('/events', (c) => {
    c.header('x-accel-buffering', 'no');
    c.header('cache-control', 'no-store');
    return streamSSE(c, async (stream) => {
      // Events go out in commit order; a stream that cannot keep up only delays its own.
      let sending = Promise.resolve();
      const { ready, leave } = live.join((change: LiveChange) => {
        sending = sending
          .then(() => stream.writeSSE({ event: 'change', id: change.txId, data: JSON.stringify(change) }))
          .catch(() => {});
      });
      const ended = new Promise<void>((resolve) => stream.onAbort(resolve));
      await ready;
      await stream.writeSSE({ event: 'ready', data: '' });
      while (!stream.aborted && !stream.closed) {
        const tick = new Promise<void>((resolve) => setTimeout(resolve, KEEPALIVE_MS).unref());
        await Promise.race([tick, ended]);
        if (!stream.aborted) await stream.write(': keep-alive\n\n').catch(() => {});
      }
      leave();
    });
  });
  return app;
}
