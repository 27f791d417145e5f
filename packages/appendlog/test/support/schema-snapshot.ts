import type { Database } from '../../src/index.js';

/**
 * Everything a migration could touch in the handle's schema, as comparable text: relations and
 * their columns, types and defaults, constraints (with whether they are validated), functions,
 * triggers, view definitions, comments, the schema history and every table's row count.
 */
export async function schemaSnapshot(db: Database): Promise<Record<string, unknown>> {
  const q = <R>(sql: string) => db.query<R>(sql, [db.schema]);
  const columns = await q(
    `SELECT c.relname, c.relkind::text, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE n.nspname = $1
      ORDER BY c.relname, a.attnum`,
  );
  const constraints = await q(
    `SELECT r.relname, k.conname, k.convalidated, pg_catalog.pg_get_constraintdef(k.oid) AS def
       FROM pg_catalog.pg_constraint k
       JOIN pg_catalog.pg_class r ON r.oid = k.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
      WHERE n.nspname = $1
      ORDER BY r.relname, k.conname`,
  );
  const functions = await q(
    `SELECT p.proname, pg_catalog.md5(p.prosrc) AS src, pg_catalog.pg_get_function_result(p.oid) AS result
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 ORDER BY p.proname`,
  );
  const triggers = await q(
    `SELECT r.relname, t.tgname, t.tgenabled::text
       FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class r ON r.oid = t.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
      WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY r.relname, t.tgname`,
  );
  const views = await q(
    `SELECT c.relname, pg_catalog.pg_get_viewdef(c.oid) AS def, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('v', 'r') ORDER BY c.relname`,
  );
  const tables = await q<{ relname: string }>(
    `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname`,
  );
  const rows: Record<string, unknown> = {};
  for (const t of tables) {
    const [r] = await db.query<{ n: number; digest: string | null }>(
      `SELECT count(*)::int AS n, pg_catalog.md5(pg_catalog.string_agg(x::text, ',' ORDER BY x::text)) AS digest
         FROM "${db.schema}"."${t.relname}" x`,
    );
    rows[t.relname] = r;
  }
  return { columns, constraints, functions, triggers, views, rows };
}
