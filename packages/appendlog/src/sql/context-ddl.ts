import { CONTEXT_MARKER_SQL } from '../model/context.js';
import { MAX_LABEL_BYTES, MAX_VALUE_BYTES } from '../model/values.js';
import { quoteIdent } from '../schema/names.js';
import { TRUSTED_SEARCH_PATH } from './search-path.js';
import { SQLSTATE } from './sqlstate.js';

/**
 * plpgsql, in generated code that writes versions, after NULL labels were filled from the
 * `appendlog.*` settings (run only when one was): where `appendlog.strict_context`
 * is on (for a database or, as docs/sql-and-orms.md recommends, the application's role), a label
 * taken from a setting counts only if `appendlog_context` set it in this transaction. A session-level
 * `SET` or `set_config(…, false)` outlives its request on a pooled connection, and PostgreSQL gives
 * SQL no way to tell it from a `SET LOCAL`; the marker can. Strict mode guards against such
 * accidents, not against a role that turns it off for its own session.
 */
export function strictContextSql(): string {
  return `  IF pg_catalog.current_setting('appendlog.strict_context', true) = 'on'
     AND pg_catalog.current_setting('appendlog.context_tx', true) IS DISTINCT FROM ${CONTEXT_MARKER_SQL} THEN
    RAISE EXCEPTION 'appendlog: the actor, reason or meta of this write comes from a setting that appendlog_context() did not make in this transaction (strict_context is on)'
      USING ERRCODE = '${SQLSTATE.invalidState}',
            DETAIL = 'A session-level SET of appendlog.actor, appendlog.reason or appendlog.meta outlives its request on a pooled connection.',
            HINT = 'Call SELECT appendlog_context(actor => …, reason => …) in the same transaction, or pass them to the library.';
  END IF;`;
}

/**
 * `appendlog_context(actor, reason, meta)`: the SQL way to say who writes and why, for ORMs and
 * psql, where `SET LOCAL` cannot take a bind parameter. Each argument given (not NULL) sets its
 * `appendlog.*` setting for the current transaction only (`set_config(…, true)`); an empty string
 * clears it. The first call in a transaction also clears what it leaves out, so nothing set
 * before the transaction (a session-level `SET`) comes along, and marks the transaction
 * (`appendlog.context_tx`) for strict mode ({@link strictContextSql}); later calls in the same
 * transaction leave what they leave out as it is. PostgreSQL discards transaction-local settings
 * when the transaction ends, committed or not, so nothing set here can reach the next transaction
 * on a pooled connection.
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
  IF pg_catalog.current_setting('appendlog.context_tx', true) IS DISTINCT FROM ${CONTEXT_MARKER_SQL} THEN
    -- The first call of the transaction: what it leaves out is cleared, not inherited from
    -- before the transaction (a session-level SET), and the transaction is marked as set up here.
    PERFORM pg_catalog.set_config('appendlog.actor', coalesce(actor, ''), true),
            pg_catalog.set_config('appendlog.reason', coalesce(reason, ''), true),
            pg_catalog.set_config('appendlog.meta', coalesce(meta::text, ''), true),
            pg_catalog.set_config('appendlog.context_tx', ${CONTEXT_MARKER_SQL}, true);
    RETURN;
  END IF;
  IF actor IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.actor', actor, true); END IF;
  IF reason IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.reason', reason, true); END IF;
  IF meta IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.meta', meta::text, true); END IF;
END $fn$;
COMMENT ON FUNCTION ${s}.appendlog_context(text, text, jsonb) IS
  'Sets appendlog.actor, appendlog.reason and appendlog.meta for the current transaction only; NULL leaves one as an earlier call in the same transaction set it (or clears it, on the first call), '''' clears it.';
GRANT EXECUTE ON FUNCTION ${s}.appendlog_context(text, text, jsonb) TO PUBLIC;
`;
}
