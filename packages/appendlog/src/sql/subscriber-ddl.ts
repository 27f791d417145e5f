import { quoteIdent, quoteLiteral } from '../schema/names.js';
import { tableObjects } from './names.js';
import { TRUSTED_SEARCH_PATH } from './search-path.js';
import { SQLSTATE } from './sqlstate.js';

/** The trigger that keeps a logical replication subscriber's copy of a table for the publisher's writes. */
export const SUBSCRIBER_TRIGGER = 'appendlog_subscriber_copy';

/**
 * A logical replication subscriber's copy of `table` (docs/scale-out.md): a statement of this
 * database's own on its log or head is refused, while the subscription's apply worker, which runs
 * as a replica (`session_replication_role = replica`), fires no ordinary trigger and so writes
 * the publisher's versions as they are, chain trigger included. A local version would fork the
 * publisher's chain, and the publisher's next one would then stop the subscription on its key.
 */
export function subscriberCopyDdl(schema: string, table: string): string {
  const o = tableObjects(schema, table);
  const fn = `${quoteIdent(schema)}.appendlog_refuse_subscriber_write`;
  const trigger = (rel: string) => `DROP TRIGGER IF EXISTS ${SUBSCRIBER_TRIGGER} ON ${rel};
CREATE TRIGGER ${SUBSCRIBER_TRIGGER} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${rel}
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();`;
  return `
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger
LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
BEGIN
  RAISE EXCEPTION 'appendlog: % on %.% refused: this database holds a logical replication subscriber''s copy of it', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = ${quoteLiteral(SQLSTATE.invalidState)},
          HINT = 'Write on the publisher; its versions arrive here through the subscription (docs/scale-out.md).';
END $fn$;
${trigger(o.log)}
${trigger(o.head)}
`;
}
