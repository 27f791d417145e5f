import { quoteIdent } from '../schema/names.js';
import { catalogName, type TableObjects } from './names.js';
import { TRUSTED_SEARCH_PATH } from './search-path.js';

/**
 * The channel every appendlog schema's writes notify, with the schema's name as the payload. A
 * notification is a wake-up only: subscribers read what changed with `changes()`, behind the xmin
 * horizon, so a lost, late or merged notification loses nothing (PostgreSQL folds identical
 * notifications of one transaction into one, delivered at commit).
 */
export const CHANGES_CHANNEL = 'appendlog_changes';

/**
 * The catalog objects of realtime: `appendlog_notify_changes()`, the statement-level trigger
 * function that wakes subscribers for tables of code revision 7 (kept while such tables may
 * remain; revision 8 sends the same wake-up from the chain trigger, {@link notifySql}), and
 * `appendlog_projections`, one row per durable projection
 * (its cursor, advanced in the transaction that applies a change set). The row is state, not a
 * record: it is updated in place, and `rebuild` sets the cursor back to the beginning.
 */
export function realtimeCatalogDdl(schema: string): string {
  const s = quoteIdent(schema);
  const projections = catalogName(schema, 'appendlog_projections');
  return `
-- Realtime (docs/architecture.md, "Realtime"): a wake-up for subscribers, once per writing statement,
-- from sessions that opt in (appendlog.notify = on): PostgreSQL serializes the commits of all
-- notifying transactions, through their WAL flush, so notifying by default would cost every writer.
CREATE OR REPLACE FUNCTION ${s}.appendlog_notify_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
BEGIN
${notifySql('  ', 'TG_TABLE_SCHEMA')}
  RETURN NULL;
END $fn$;

CREATE TABLE IF NOT EXISTS ${projections} (
  name text PRIMARY KEY,
  cursor xid8,
  tables text[] NOT NULL DEFAULT '{}',
  needs_reset boolean NOT NULL DEFAULT false,
  applied_sets bigint NOT NULL DEFAULT 0,
  applied_at timestamptz,
  rebuilt_at timestamptz
);
REVOKE ALL ON ${projections} FROM PUBLIC;
`;
}

/**
 * Revision 7's statement-level wake-up trigger on the head, dropped: from revision 8 the chain
 * trigger sends the wake-up itself (one `current_setting` per row costs less than an AFTER
 * statement trigger, which queues an event and calls plpgsql on every write), and the set-based
 * load, which switches the chain trigger off, sends its own.
 */
export function dropStatementNotifyDdl(o: TableObjects): string {
  return `
DROP TRIGGER IF EXISTS appendlog_notify ON ${o.head};
`;
}

/**
 * plpgsql sending the wake-up when the session opted in (`appendlog.notify = on`); `schema` is the
 * payload, a SQL expression (`TG_TABLE_SCHEMA` in a trigger).
 */
export function notifySql(indent: string, schema: string): string {
  return `${indent}IF pg_catalog.current_setting('appendlog.notify', true) = 'on' THEN
${indent}  PERFORM pg_catalog.pg_notify('${CHANGES_CHANNEL}', ${schema});
${indent}END IF;`;
}
