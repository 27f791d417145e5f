import type { Contender, Family } from '../contender.js';
import { generatedValues, isoSql, itemParams, qi } from '../data.js';
import type { SqlClient } from '../sql-client.js';
import {
  colParams,
  cols,
  fillMain,
  historyStart,
  mainTableDdl,
  mainTableReads,
  numbered,
  synthTime,
} from './main-table.js';

/**
 * The PaperTrail / django-simple-history approach: the application updates the row in place and
 * inserts the new version into a versions table, in one transaction. At its best that is one
 * statement: a data-modifying CTE, so one round trip and an implicit transaction.
 */
export function appVersionsFamily(sql: SqlClient): Family {
  const vers = (t: string) => qi(`${t}_versions`);
  return {
    id: 'app-versions',
    async create(t) {
      await sql.exec(`
${mainTableDdl(t)}
CREATE TABLE ${vers(t)} (
  item_id uuid NOT NULL,
  version integer NOT NULL,
  changed_at timestamptz NOT NULL,
  name text NOT NULL,
  address_line_1 text,
  city text,
  postcode text,
  tel text,
  PRIMARY KEY (item_id, version)
);
CREATE INDEX ${qi(`${t}_versions_time_idx`)} ON ${vers(t)} (item_id, changed_at);
`);
    },
    async fill(t, entries, depth) {
      const t0 = historyStart();
      const ids = await fillMain(sql, t, entries, depth, t0);
      await sql.query(
        null,
        `INSERT INTO ${vers(t)} (item_id, version, changed_at, ${cols})
         SELECT m.id, g, ${synthTime('$1', entries, 'g', 'm.e')}, ${generatedValues('m.e', 'g').join(', ')}
           FROM ${numbered(t)} m CROSS JOIN generate_series(1, ${depth}) g
          ORDER BY g, m.e`,
        [t0],
      );
      await sql.exec(`ANALYZE ${qi(t)}; ANALYZE ${vers(t)}`);
      return ids;
    },
    async versionTimes(t, id) {
      const rows = await sql.query<{ at: string }>(
        null,
        `SELECT ${isoSql('changed_at')} AS at FROM ${vers(t)} WHERE item_id = $1 ORDER BY version`,
        [id],
      );
      return rows.map((r) => ({ iso: r.at }));
    },
    async momentAfterVersion(t, version) {
      const rows = await sql.query<{ at: string }>(
        null,
        `SELECT ${isoSql('max(changed_at)')} AS at FROM ${vers(t)} WHERE version = $1`,
        [version],
      );
      return { iso: rows[0]!.at };
    },
    async bulkLoad(t, entries, versions) {
      await sql.query(
        null,
        `WITH m AS (INSERT INTO ${qi(t)} (${cols}) SELECT ${generatedValues('e', '1').join(', ')}
                      FROM generate_series(1, ${entries}) e RETURNING *)
         INSERT INTO ${vers(t)} (item_id, version, changed_at, ${cols}) SELECT id, version, updated_at, ${cols} FROM m`,
      );
      for (let g = 2; g <= versions; g++) {
        await sql.query(
          null,
          `WITH m AS (UPDATE ${qi(t)} SET city = 'City ${g}', version = version + 1, updated_at = now() RETURNING *)
           INSERT INTO ${vers(t)} (item_id, version, changed_at, ${cols}) SELECT id, version, updated_at, ${cols} FROM m`,
        );
      }
    },
    relations: (t) => [t, `${t}_versions`],
    async drop(t) {
      await sql.exec(`DROP TABLE IF EXISTS ${qi(t)}, ${vers(t)} CASCADE`);
    },
  };
}

export function appVersionsContender(sql: SqlClient): Contender {
  const family = appVersionsFamily(sql);
  const vers = (t: string) => qi(`${t}_versions`);
  return {
    id: 'app-versions',
    label: 'app-level versions',
    family,
    async insert(t, n) {
      await sql.query(
        `appv_ins_${t}`,
        `WITH m AS (INSERT INTO ${qi(t)} (${cols}) VALUES (${colParams()}) RETURNING *)
         INSERT INTO ${vers(t)} (item_id, version, changed_at, ${cols}) SELECT id, version, updated_at, ${cols} FROM m`,
        itemParams(n),
      );
    },
    async update(t, id, city) {
      await sql.query(
        `appv_upd_${t}`,
        `WITH m AS (UPDATE ${qi(t)} SET city = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *)
         INSERT INTO ${vers(t)} (item_id, version, changed_at, ${cols}) SELECT id, version, updated_at, ${cols} FROM m`,
        [id, city],
      );
    },
    ...mainTableReads(sql, 'appv'),
    history: (t, id) =>
      sql.query(
        `appv_hist_${t}`,
        `SELECT item_id, version, changed_at, ${cols} FROM ${vers(t)} WHERE item_id = $1 ORDER BY version`,
        [id],
      ),
    asOfOne: async (t, id, at) =>
      (
        await sql.query(
          `appv_asof1_${t}`,
          `SELECT item_id, version, changed_at, ${cols} FROM ${vers(t)}
            WHERE item_id = $1 AND changed_at <= $2::timestamptz ORDER BY changed_at DESC LIMIT 1`,
          [id, at.iso],
        )
      )[0],
    asOfAll: (t, at) =>
      sql.query(
        `appv_asofall_${t}`,
        `SELECT v.* FROM ${qi(t)} m CROSS JOIN LATERAL (
           SELECT item_id, version, changed_at, ${cols} FROM ${vers(t)} x
            WHERE x.item_id = m.id AND x.changed_at <= $1::timestamptz ORDER BY x.changed_at DESC LIMIT 1) v
          WHERE m.created_at <= $1::timestamptz`,
        [at.iso],
      ),
    bulk: 'family',
  };
}
