import { tableObjects } from '../sql/names.js';
import { versionProjection } from './codec.js';
import { perTable } from './statement-cache.js';

/**
 * A call of the table's append function, read back as a version. Parameters: op, entry id,
 * expected version, actor, reason, meta, patch (a JSON object keyed by SQL column name).
 */
export const appendSql = perTable(
  (def, schema): string =>
    `SELECT ${versionProjection(def)} FROM ${tableObjects(schema, def.name).append}($1::text, $2::uuid, $3::integer, $4::text, $5::text, $6::jsonb, $7::jsonb) l`,
);
