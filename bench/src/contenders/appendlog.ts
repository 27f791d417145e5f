import type { Database, Table } from 'appendlog';
import type { Contender, Family } from '../contender.js';
import {
  COLUMNS,
  generatedValues,
  type ItemsTable,
  isoSql,
  itemData,
  itemParams,
  itemsTable,
  qi,
} from '../data.js';
import type { SqlClient } from '../sql-client.js';
import { colParams, cols } from './main-table.js';

type Items = ItemsTable['definition'];

/**
 * appendlog: the log, the head and the view, created by the library's own `migrate`. Fills and
 * bulk loads go through raw INSERTs into the log: the chain trigger assigns versions and hashes,
 * exactly as for every other write.
 */
export function appendlogFamily(
  sql: SqlClient,
  db: Database,
  id: 'appendlog' | 'baseline' = 'appendlog',
): Family {
  const log = (t: string) => qi(`${t}_log`);
  const head = (t: string) => qi(`${t}_head`);
  // One level (one version of every entry) per transaction: the head row of each entry is then
  // updated once per transaction, so HOT pruning keeps it small, as it does in real use. Several
  // versions of one entry in one transaction chain dead head tuples that nothing can prune yet,
  // and a deep history built that way gets slower with every level.
  const appendLevels = async (t: string, from: number, to: number) => {
    if (from > to) return;
    await sql.query(null, `CALL bench_fill_levels($1::regclass, $2::regclass, $3, $4)`, [
      log(t),
      head(t),
      from,
      to,
    ]);
  };
  const procedure = `
CREATE OR REPLACE PROCEDURE bench_fill_levels(log regclass, head regclass, from_g int, to_g int)
LANGUAGE plpgsql AS $fn$
BEGIN
  FOR g IN from_g..to_g LOOP
    EXECUTE format('INSERT INTO %s (entry_id, op, ${cols})
      SELECT h.entry_id, ''update'', ${generatedValues('h.e', '$1').join(', ').replaceAll("'", "''")}
        FROM (SELECT entry_id, row_number() OVER (ORDER BY created_at, entry_id) AS e FROM %s) h
       ORDER BY h.e', log, head) USING g;
    COMMIT;
  END LOOP;
END $fn$;`;
  return {
    id,
    async create(t) {
      await db.migrate([itemsTable(t)]);
      await sql.exec(procedure);
    },
    async fill(t, entries, depth) {
      await sql.query(
        null,
        `INSERT INTO ${log(t)} (op, ${cols})
         SELECT 'insert', ${generatedValues('e', '1').join(', ')} FROM generate_series(1, ${entries}) e ORDER BY e`,
      );
      await appendLevels(t, 2, depth);
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
    async bulkLoad(t, entries, versions) {
      await sql.query(
        null,
        `INSERT INTO ${log(t)} (op, ${cols})
         SELECT 'insert', ${generatedValues('e', '1').join(', ')} FROM generate_series(1, ${entries}) e`,
      );
      // Each level carries the other columns forward from the current version, as an UPDATE would.
      const carried = COLUMNS.map((c) => (c === 'city' ? `'City ' || $1::int` : `l.${c}`)).join(', ');
      for (let g = 2; g <= versions; g++) {
        await sql.query(
          null,
          `INSERT INTO ${log(t)} (entry_id, op, ${cols})
           SELECT h.entry_id, 'update', ${carried} FROM ${head(t)} h JOIN ${log(t)} l ON l.seq = h.seq`,
          [g],
        );
      }
    },
    relations: (t) => [`${t}_log`, `${t}_head`],
    async drop(t) {
      await sql.exec(`DROP TABLE IF EXISTS ${log(t)}, ${head(t)} CASCADE`);
    },
  };
}

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
    bulk: false,
  };
}

/** appendlog through plain SQL on its view and log, prepared like the other contenders. */
export function appendlogSqlContender(family: Family, sql: SqlClient): Contender {
  const baseline = family.id === 'baseline';
  const current = `entry_id, version, created_at, updated_at, ${cols}`;
  return {
    id: baseline ? 'baseline-sql' : 'appendlog-sql',
    label: baseline ? 'appendlog (SQL, baseline)' : 'appendlog (SQL)',
    family,
    async insert(t, n) {
      await sql.query(`al_ins_${t}`, `INSERT INTO ${qi(t)} (${cols}) VALUES (${colParams()})`, itemParams(n));
    },
    async update(t, id, city) {
      await sql.query(`al_upd_${t}`, `UPDATE ${qi(t)} SET city = $2 WHERE entry_id = $1`, [id, city]);
    },
    async get(t, id) {
      return (await sql.query(`al_get_${t}`, `SELECT ${current} FROM ${qi(t)} WHERE entry_id = $1`, [id]))[0];
    },
    list(t, limit) {
      const lim = limit === null ? '' : ` LIMIT ${limit}`;
      return sql.query(
        `al_list${limit ?? ''}_${t}`,
        `SELECT ${current} FROM ${qi(t)} ORDER BY created_at, entry_id${lim}`,
      );
    },
    history: (t, id) =>
      sql.query(
        `al_hist_${t}`,
        `SELECT entry_id, version, op, recorded_at, actor, reason, ${cols} FROM ${qi(`${t}_log`)}
          WHERE entry_id = $1 ORDER BY version`,
        [id],
      ),
    asOfOne: async (t, id, at) =>
      (
        await sql.query(
          `al_asof1_${t}`,
          `SELECT * FROM (SELECT entry_id, version, op, recorded_at, ${cols} FROM ${qi(`${t}_log`)}
             WHERE entry_id = $1 AND recorded_at <= $2::timestamptz ORDER BY recorded_at DESC LIMIT 1) x
            WHERE op NOT IN ('delete', 'forget')`,
          [id, at.iso],
        )
      )[0],
    asOfAll: (t, at) =>
      sql.query(`al_asofall_${t}`, `SELECT * FROM ${qi(`${t}_as_of`)}($1::timestamptz)`, [at.iso]),
    bulk: true,
  };
}
