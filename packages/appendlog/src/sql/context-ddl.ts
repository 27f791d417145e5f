import { MAX_LABEL_BYTES, MAX_VALUE_BYTES } from '../model/values.js';
import { quoteIdent } from '../schema/names.js';
import { TRUSTED_SEARCH_PATH } from './search-path.js';
import { SQLSTATE } from './sqlstate.js';

/**
 * `appendlog_context(actor, reason, meta)`: the SQL way to say who writes and why, for ORMs and
 * psql, where `SET LOCAL` cannot take a bind parameter. Each argument given (not NULL) sets its
 * `appendlog.*` setting for the current transaction only (`set_config(…, true)`); an empty string
 * clears it. PostgreSQL discards transaction-local settings when the transaction ends, committed
 * or not, so nothing set here can reach the next transaction on a pooled connection.
 *
 * It does not try to tell whether it runs inside an explicit transaction block: PostgreSQL gives a
 * function no way to know (the checks `SET LOCAL` and `LOCK` use are skipped below the top level,
 * and `transaction_timestamp() = statement_timestamp()` holds in autocommit but also inside a
 * block sent as one query string, the statement time being the arrival of the client's message).
 * Called alone in autocommit it lasts only for its own statement, so a delete that follows is
 * refused for want of a reason rather than recorded with anyone else's. See docs/sql-and-orms.md.
 *
 * The values are checked against the limits the chain trigger applies, so a bad one fails here,
 * where it was set.
 */
export function contextFunctionDdl(schema: string): string {
  const s = quoteIdent(schema);
  const over = (e: string) => `pg_catalog.octet_length(${e}) OPERATOR(pg_catalog.>) ${MAX_LABEL_BYTES}`;
  return `
CREATE OR REPLACE FUNCTION ${s}.appendlog_context(actor text DEFAULT NULL, reason text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
BEGIN
  IF ${over('actor')} OR ${over('reason')}
     OR pg_catalog.octet_length(meta::text) OPERATOR(pg_catalog.>) ${MAX_VALUE_BYTES}
     OR pg_catalog.jsonb_typeof(meta) OPERATOR(pg_catalog.<>) 'object' THEN
    RAISE EXCEPTION 'appendlog: the actor and reason of a version hold at most ${MAX_LABEL_BYTES} bytes, and its meta is a JSON object of at most ${MAX_VALUE_BYTES} bytes'
      USING ERRCODE = '${SQLSTATE.invalidInput}',
            DETAIL = 'field=' || CASE WHEN ${over('actor')} THEN 'actor'
                                      WHEN ${over('reason')} THEN 'reason'
                                      ELSE 'meta' END;
  END IF;
  IF actor IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.actor', actor, true); END IF;
  IF reason IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.reason', reason, true); END IF;
  IF meta IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.meta', meta::text, true); END IF;
END $fn$;
COMMENT ON FUNCTION ${s}.appendlog_context(text, text, jsonb) IS
  'Sets appendlog.actor, appendlog.reason and appendlog.meta for the current transaction only; NULL leaves one as it is, '''' clears it.';
GRANT EXECUTE ON FUNCTION ${s}.appendlog_context(text, text, jsonb) TO PUBLIC;
`;
}
