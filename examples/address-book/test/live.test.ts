// Live updates: /events streams who changed which person, fed by one db.subscribe per server.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { LiveFeed } from '../src/live/feed.js';
import { addresses } from '../src/schema.js';
import { Client, describeEngines, ORIGIN, sessionFor, type TestBook } from './support.js';

const url = process.env.DATABASE_URL;

/** Reads server-sent events from a streamed response, one at a time. */
function events(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    async next(): Promise<{ event: string; data: string }> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) =>
            block
              .split('\n')
              .filter((l) => l.startsWith(`${name}:`))
              .map((l) => l.slice(name.length + 1).trimStart())
              .join('\n');
          if (block.startsWith(':')) continue; // a keep-alive comment
          return { event: field('event'), data: field('data') };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffer += value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

describeEngines('live updates (/events)', (engine) => {
  let book: TestBook;
  let live: LiveFeed;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    book = await engine.open();
    live = new LiveFeed(book.db);
    app = createApp(book.db, { live });
  });
  afterAll(async () => {
    await live.close();
    await book.close();
  });

  const open = async () => {
    // The event stream is for signed-in accounts (a viewer is enough).
    const { token } = await sessionFor(book.db, 'watcher', 'viewer');
    const res = await app.request(`${ORIGIN}/events`, { headers: { cookie: `session=${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = events(res);
    expect((await stream.next()).event).toBe('ready');
    return stream;
  };

  it('one subscription serves every stream: each gets who changed whom, from now on, in commit order', async () => {
    // On PostgreSQL, an older transaction still open keeps the horizon below 'Before' when the
    // streams open: 'Before' is readable only later, and must still count as before.
    const pool = engine.name === 'postgres' ? new pg.Pool({ connectionString: url, max: 1 }) : null;
    const holder = await pool?.connect();
    await holder?.query('BEGIN');
    await holder?.query('SELECT pg_current_xact_id()');
    const before = await book.db.table(addresses).insert({ name: 'Before' }, { actor: 'zoe' });
    const a = await open();
    const b = await open();
    await holder?.query('COMMIT');
    holder?.release();
    await pool?.end();
    expect(live.running).toBe(true);
    const web = new Client(book.db);
    await web.actAs('omar');
    const created = await web.post('/people', { name: 'Ada' });
    expect(created.status).toBe(303);
    const id = new URL(created.headers.get('location')!, ORIGIN).pathname.split('/').at(-1)!;
    const edited = await book.db.table(addresses).update(id, { city: 'Leeds' }, { actor: 'lin' });
    for (const stream of [a, b]) {
      const first = await stream.next();
      expect(first.event).toBe('change');
      expect(JSON.parse(first.data)).toMatchObject({
        actor: 'omar',
        changes: [{ id, op: 'insert', version: 1 }],
      });
      const second = JSON.parse((await stream.next()).data);
      expect(second).toMatchObject({
        actor: 'lin',
        txId: edited.txId,
        changes: [{ id, op: 'update', version: 2 }],
      });
      // Nothing from before the stream opened.
      expect(JSON.stringify([first, second])).not.toContain(before.entryId);
    }
    await a.cancel();
    await b.cancel();
    // The last stream gone, the subscription stops.
    await expect.poll(() => live.running).toBe(false);
  });

  it('pages carry the polite status region and the script, and read the same without it', async () => {
    const v = await book.db.table(addresses).insert({ name: 'Grace' }, { actor: 'omar' });
    const web = new Client(book.db);
    await web.actAs('reader', 'viewer');
    const page = await (await web.get(`/people/${v.entryId}`)).text();
    expect(page).toContain('<p id="live-status" class="live-status" role="status" aria-live="polite"></p>');
    expect(page).toContain('<script src="/live.js" defer=""></script>');
    expect(page).toContain(`<div data-live="${v.entryId}">`);
    expect(page).toContain('<h1>Grace</h1>'); // rendered on the server, script or not
    const list = await (await web.get('/')).text();
    expect(list).toContain('<div data-live="list">');
    const script = await web.get('/live.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("new EventSource('/events')");
  });
});
