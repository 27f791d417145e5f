import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
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
});
