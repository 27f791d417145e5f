import type { Contender, Family } from '../contender.js';
import { generatedValues, itemParams, qi } from '../data.js';
import type { SqlClient } from '../sql-client.js';
import { colParams, cols, fillMain, historyStart, mainTableDdl, mainTableReads } from './main-table.js';

/** Plain: an ordinary table updated in place. No history: the physical floor. */
export function plainFamily(sql: SqlClient): Family {
  return {
    id: 'plain',
    async create(t) {
      await sql.exec(mainTableDdl(t));
    },
    async fill(t, entries, depth) {
      const ids = await fillMain(sql, t, entries, depth, historyStart());
      await sql.exec(`ANALYZE ${qi(t)}`);
      return ids;
    },
    versionTimes: async () => null,
    momentAfterVersion: async () => null,
    async bulkLoad(t, entries, versions) {
      await sql.query(
        null,
        `INSERT INTO ${qi(t)} (${cols}) SELECT ${generatedValues('e', '1').join(', ')} FROM generate_series(1, ${entries}) e`,
      );
      for (let g = 2; g <= versions; g++) {
        await sql.query(
          null,
          `UPDATE ${qi(t)} SET city = 'City ${g}', version = version + 1, updated_at = now()`,
        );
      }
    },
    relations: (t) => [t],
    async drop(t) {
      await sql.exec(`DROP TABLE IF EXISTS ${qi(t)} CASCADE`);
    },
  };
}

export function plainContender(sql: SqlClient): Contender {
  const family = plainFamily(sql);
  return {
    id: 'plain',
    label: 'plain',
    family,
    async insert(t, n) {
      await sql.query(
        `plain_ins_${t}`,
        `INSERT INTO ${qi(t)} (${cols}) VALUES (${colParams()})`,
        itemParams(n),
      );
    },
    async update(t, id, city) {
      await sql.query(
        `plain_upd_${t}`,
        `UPDATE ${qi(t)} SET city = $2, version = version + 1, updated_at = now() WHERE id = $1`,
        [id, city],
      );
    },
    ...mainTableReads(sql, 'plain'),
    history: null,
    asOfOne: null,
    asOfAll: null,
    bulk: 'family',
  };
}
