import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { column, connect, type Database, table } from '../src/index.js';
import { describePostgres } from './support/engines.js';

describePostgres('connect({ url, schema, pool: { options } })', () => {
  const schema = `opts_${randomBytes(4).toString('hex')}`;
  let db: Database | undefined;
  afterAll(async () => {
    await db?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db?.close();
  });

  it("keeps the schema's search_path and adds the caller's own server options", async () => {
    db = await connect({
      url: process.env.DATABASE_URL!,
      schema,
      pool: { options: '-c application_name=opts_probe -c statement_timeout=12345' },
    });
    const [row] = await db.query<{ path: string; app: string; timeout: string }>(
      `SELECT current_setting('search_path') AS path, current_setting('application_name') AS app,
              current_setting('statement_timeout') AS timeout`,
    );
    expect(row).toEqual({ path: `"${schema}",public`, app: 'opts_probe', timeout: '12345ms' });
  });

  it('notifies subscribers of its writes only with notify: true (a NOTIFY serializes commits)', async () => {
    const t = table('notes', { body: column.text() });
    const quiet = await connect({ url: process.env.DATABASE_URL!, schema });
    const loud = await connect({ url: process.env.DATABASE_URL!, schema, notify: true });
    const listener = new pg.Client({ connectionString: process.env.DATABASE_URL! });
    await listener.connect();
    try {
      await quiet.migrate([t]);
      const heard: string[] = [];
      // The channel is the database's: other test files write to other schemas beside this one.
      listener.on('notification', (n) => {
        if (n.payload === schema) heard.push(n.payload);
      });
      await listener.query('LISTEN appendlog_changes');
      await quiet.table(t).insert({ body: 'quiet' });
      await listener.query('SELECT 1'); // a round trip: a notification sent by then has arrived
      expect(heard).toEqual([]);
      await loud.table(t).insert({ body: 'loud' });
      await expect.poll(() => heard).toEqual([schema]);
    } finally {
      await listener.end();
      await quiet.close();
      await loud.close();
    }
  });
});
