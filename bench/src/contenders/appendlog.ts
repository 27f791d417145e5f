import { type Database, type Table, tableObjects } from 'appendlog';
import type { Contender, Family } from '../contender.js';
import { generatedValues, type ItemsTable, isoSql, itemData, itemParams, itemsTable } from '../data.js';
import type { SqlClient } from '../sql-client.js';
import { colParams, cols } from './main-table.js';

type Items = ItemsTable['definition'];

/**
 * appendlog: the log, the head and the view, created by the library's own `migrate`. Fills and
 * bulk loads write through the head, set-based, as raw SQL would: an `INSERT … SELECT` into the
 * head starts every entry, and each later level is one `UPDATE` of the whole head. The chain
 * trigger on the head checks, stamps, hashes and appends every one of those versions to the log,
 * exactly as it does for the library's writes.
 */
export function appendlogFamily(
  sql: SqlClient,
  db: Database,
  id: 'appendlog' | 'baseline' = 'appendlog',
): Family {
  const log = (t: string) => tableObjects(db.schema, t).log;
  const head = (t: string) => tableObjects(db.schema, t).head;
  // Only the city changes from version to version (generatedValues); the trigger carries the rest.
  const startEntries = (t: string, entries: number) =>
    sql.query(
      null,
      `INSERT INTO ${head(t)} (${cols})
       SELECT ${generatedValues('e', '1').join(', ')} FROM generate_series(1, ${entries}) e ORDER BY e`,
    );
  return {
    id,
    async create(t) {
      await db.migrate([itemsTable(t)]);
      await sql.exec(FILL_LEVELS);
    },
    async fill(t, entries, depth) {
      await startEntries(t, entries);
      if (depth > 1) await sql.query(null, `CALL bench_fill_levels($1::regclass, 2, $2)`, [head(t), depth]);
      // Compact the head as steady-state autovacuum would (the other contenders' tables are built compact).
      await sql.exec(`VACUUM FULL ${head(t)}`);
      await sql.exec(`VACUUM ANALYZE ${log(t)}`);
      await sql.exec(`ANALYZE ${head(t)}`);
      const rows = await sql.query<{ id: string }>(
        null,
        `SELECT entry_id::text AS id FROM ${head(t)} ORDER BY created_at, entry_id`,
      );
      return rows.map((r) => r.id);
    },
    async versionTimes(t, id) {
      const rows = await sql.query<{ at: string }>(
        null,
        `SELECT ${isoSql('recorded_at')} AS at FROM ${log(t)} WHERE entry_id = $1 ORDER BY version`,
        [id],
      );
      return rows.map((r) => ({ iso: r.at }));
    },
    async momentAfterVersion(t, version) {
      const rows = await sql.query<{ at: string }>(
        null,
        `SELECT ${isoSql('max(recorded_at)')} AS at FROM ${log(t)} WHERE version = $1`,
        [version],
      );
      return { iso: rows[0]!.at };
    },
    // The same statements as the history trigger's and plain's bulk loads: one per version level.
    async bulkLoad(t, entries, versions) {
      await startEntries(t, entries);
      for (let g = 2; g <= versions; g++) await sql.query(null, `UPDATE ${head(t)} SET city = 'City ${g}'`);
    },
    relations: (t) => [`${t}_log`, `${t}_head`],
    async drop(t) {
      await sql.exec(`DROP TABLE IF EXISTS ${log(t)}, ${head(t)} CASCADE`);
    },
  };
}

/**
 * Appends versions `from_g` to `to_g` to every entry of a head: one `UPDATE` of the whole head per
 * level, each level its own transaction. Every head row is then updated once per transaction, so
 * HOT pruning keeps the head small, as it does in real use; several versions of one entry in one
 * transaction would chain dead head tuples that nothing can prune yet, and a deep history built
 * that way gets slower with every level.
 */
const FILL_LEVELS = `
CREATE OR REPLACE PROCEDURE bench_fill_levels(head regclass, from_g int, to_g int)
LANGUAGE plpgsql AS $fn$
BEGIN
  FOR g IN from_g..to_g LOOP
    EXECUTE format('UPDATE %s SET city = ''City '' || $1', head) USING g;
    COMMIT;
  END LOOP;
END $fn$;`;

/** appendlog through the library's Table API. */
export function appendlogLibContender(family: Family, db: Database): Contender {
  const baseline = family.id === 'baseline';
  const tables = new Map<string, Table<Items>>();
  const book = (t: string) => {
    let b = tables.get(t);
    if (!b) {
      b = db.table(itemsTable(t));
      tables.set(t, b);
    }
    return b;
  };
  return {
    id: baseline ? 'baseline' : 'appendlog',
    label: baseline ? 'appendlog (library, baseline)' : 'appendlog (library)',
    family,
    async insert(t, n) {
      await book(t).insert(itemData(n));
    },
    async update(t, id, city) {
      await book(t).update(id, { city });
    },
    get: (t, id) => book(t).get(id),
    list: (t, limit) => book(t).list(limit === null ? {} : { limit }),
    history: (t, id) => book(t).history(id),
    asOfOne: (t, id, at) => book(t).at(id, at.iso),
    asOfAll: (t, at) => book(t).listAt(at.iso),
    // insertMany starts entries, so its 100,000 versions are 100,000 entries at version 1. The
    // baseline is another build, which may predate insertMany: its bulk load is the SQL one.
    bulk: baseline
      ? null
      : async (t, entries, versions) => {
          await book(t).insertMany(Array.from({ length: entries * versions }, (_, i) => itemData(i + 1)));
        },
  };
}

/** appendlog through plain SQL on its view and log, prepared like the other contenders. */
export function appendlogSqlContender(family: Family, sql: SqlClient, schema: string): Contender {
  const baseline = family.id === 'baseline';
  const o = (t: string) => tableObjects(schema, t);
  const current = `entry_id, version, created_at, updated_at, ${cols}`;
  return {
    id: baseline ? 'baseline-sql' : 'appendlog-sql',
    label: baseline ? 'appendlog (SQL, baseline)' : 'appendlog (SQL)',
    family,
    async insert(t, n) {
      await sql.query(
        `al_ins_${t}`,
        `INSERT INTO ${o(t).view} (${cols}) VALUES (${colParams()})`,
        itemParams(n),
      );
    },
    async update(t, id, city) {
      await sql.query(`al_upd_${t}`, `UPDATE ${o(t).view} SET city = $2 WHERE entry_id = $1`, [id, city]);
    },
    async get(t, id) {
      return (
        await sql.query(`al_get_${t}`, `SELECT ${current} FROM ${o(t).view} WHERE entry_id = $1`, [id])
      )[0];
    },
    list(t, limit) {
      const lim = limit === null ? '' : ` LIMIT ${limit}`;
      return sql.query(
        `al_list${limit ?? ''}_${t}`,
        `SELECT ${current} FROM ${o(t).view} ORDER BY created_at, entry_id${lim}`,
      );
    },
    history: (t, id) =>
      sql.query(
        `al_hist_${t}`,
        `SELECT entry_id, version, op, recorded_at, actor, reason, ${cols} FROM ${o(t).log}
          WHERE entry_id = $1 ORDER BY version`,
        [id],
      ),
    asOfOne: async (t, id, at) =>
      (
        await sql.query(
          `al_asof1_${t}`,
          `SELECT * FROM (SELECT entry_id, version, op, recorded_at, ${cols} FROM ${o(t).log}
             WHERE entry_id = $1 AND recorded_at <= $2::timestamptz ORDER BY recorded_at DESC LIMIT 1) x
            WHERE op NOT IN ('delete', 'forget')`,
          [id, at.iso],
        )
      )[0],
    asOfAll: (t, at) => sql.query(`al_asofall_${t}`, `SELECT * FROM ${o(t).asOf}($1::timestamptz)`, [at.iso]),
    bulk: 'family',
  };
}
