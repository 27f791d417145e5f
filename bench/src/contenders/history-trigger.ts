import type { Contender, Family } from '../contender.js';
import { COLUMNS, generatedValues, isoSql, itemParams, qi } from '../data.js';
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

const old = COLUMNS.map((c) => `OLD.${c}`).join(', ');

/**
 * The temporal_tables / audit-trigger approach: UPDATE in place, and a BEFORE UPDATE OR DELETE
 * trigger copies the old row, with its validity period, into a history table.
 */
export function historyTriggerFamily(sql: SqlClient): Family {
  const hist = (t: string) => qi(`${t}_history`);
  return {
    id: 'history-trigger',
    async create(t) {
      await sql.exec(`
${mainTableDdl(t)}
CREATE TABLE ${hist(t)} (
  id uuid NOT NULL,
  version integer NOT NULL,
  created_at timestamptz NOT NULL,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL,
  name text NOT NULL,
  address_line_1 text,
  city text,
  postcode text,
  tel text
);
CREATE INDEX ${qi(`${t}_history_id_idx`)} ON ${hist(t)} (id, valid_from);
CREATE FUNCTION ${qi(`${t}_versioning`)}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO ${hist(t)} (id, version, created_at, valid_from, valid_to, ${cols})
  VALUES (OLD.id, OLD.version, OLD.created_at, OLD.updated_at, now(), ${old});
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END $fn$;
CREATE TRIGGER versioning BEFORE UPDATE OR DELETE ON ${qi(t)}
  FOR EACH ROW EXECUTE FUNCTION ${qi(`${t}_versioning`)}();
`);
    },
    async fill(t, entries, depth) {
      const t0 = historyStart();
      const ids = await fillMain(sql, t, entries, depth, t0);
      if (depth > 1) {
        await sql.query(
          null,
          `INSERT INTO ${hist(t)} (id, version, created_at, valid_from, valid_to, ${cols})
           SELECT m.id, g, m.created_at, ${synthTime('$1', entries, 'g', 'm.e')}, ${synthTime('$1', entries, 'g + 1', 'm.e')},
                  ${generatedValues('m.e', 'g').join(', ')}
             FROM ${numbered(t)} m CROSS JOIN generate_series(1, ${depth - 1}) g
            ORDER BY g, m.e`,
          [t0],
        );
      }
      await sql.exec(`ANALYZE ${qi(t)}; ANALYZE ${hist(t)}`);
      return ids;
    },
    async versionTimes(t, id) {
      const rows = await sql.query<{ at: string }>(
        null,
        `SELECT ${isoSql('x.at')} AS at FROM (
           SELECT valid_from AS at, version FROM ${hist(t)} WHERE id = $1
           UNION ALL SELECT updated_at, version FROM ${qi(t)} WHERE id = $1) x ORDER BY x.version`,
        [id],
      );
      return rows.map((r) => ({ iso: r.at }));
    },
    async momentAfterVersion(t, version) {
      const rows = await sql.query<{ at: string }>(
        null,
        `SELECT ${isoSql('max(x.at)')} AS at FROM (
           SELECT valid_from AS at FROM ${hist(t)} WHERE version = $1
           UNION ALL SELECT updated_at FROM ${qi(t)} WHERE version = $1) x`,
        [version],
      );
      return { iso: rows[0]!.at };
    },
    async bulkLoad(t, entries, versions) {
      await sql.query(
        null,
        `INSERT INTO ${qi(t)} (${cols}) SELECT ${generatedValues('e', '1').join(', ')} FROM generate_series(1, ${entries}) e`,
      );
      for (let g = 2; g <= versions; g++) await sql.query(null, `UPDATE ${qi(t)} SET city = 'City ${g}'`);
    },
    relations: (t) => [t, `${t}_history`],
    async drop(t) {
      await sql.exec(
        `DROP TABLE IF EXISTS ${qi(t)}, ${hist(t)} CASCADE; DROP FUNCTION IF EXISTS ${qi(`${t}_versioning`)}()`,
      );
    },
  };
}

export function historyTriggerContender(sql: SqlClient): Contender {
  const family = historyTriggerFamily(sql);
  const hist = (t: string) => qi(`${t}_history`);
  return {
    id: 'history-trigger',
    label: 'history trigger',
    family,
    async insert(t, n) {
      await sql.query(
        `trig_ins_${t}`,
        `INSERT INTO ${qi(t)} (${cols}) VALUES (${colParams()})`,
        itemParams(n),
      );
    },
    async update(t, id, city) {
      await sql.query(`trig_upd_${t}`, `UPDATE ${qi(t)} SET city = $2 WHERE id = $1`, [id, city]);
    },
    ...mainTableReads(sql, 'trig'),
    history: (t, id) =>
      sql.query(
        `trig_hist_${t}`,
        `SELECT id, version, valid_from, ${cols} FROM ${hist(t)} WHERE id = $1
         UNION ALL SELECT id, version, updated_at, ${cols} FROM ${qi(t)} WHERE id = $1
         ORDER BY version`,
        [id],
      ),
    // The current row when it already held at $2, else the one history row whose period covers $2.
    asOfOne: async (t, id, at) =>
      (
        await sql.query(
          `trig_asof1_${t}`,
          `SELECT * FROM (
             SELECT id, version, updated_at AS valid_from, ${cols} FROM ${qi(t)} WHERE id = $1 AND updated_at <= $2::timestamptz
             UNION ALL
             (SELECT id, version, valid_from, ${cols} FROM ${hist(t)}
               WHERE id = $1 AND valid_from <= $2::timestamptz AND valid_to > $2::timestamptz
               ORDER BY valid_from DESC LIMIT 1)
           ) x LIMIT 1`,
          [id, at.iso],
        )
      )[0],
    asOfAll: (t, at) =>
      sql.query(
        `trig_asofall_${t}`,
        `SELECT id, version, updated_at AS valid_from, ${cols} FROM ${qi(t)} WHERE updated_at <= $1::timestamptz
         UNION ALL
         SELECT id, version, valid_from, ${cols} FROM ${hist(t)}
          WHERE valid_from <= $1::timestamptz AND valid_to > $1::timestamptz`,
        [at.iso],
      ),
    bulk: 'family',
  };
}
