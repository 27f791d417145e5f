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
 * function that wakes subscribers, and `appendlog_projections`, one row per durable projection
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
  IF pg_catalog.current_setting('appendlog.notify', true) = 'on' THEN
    PERFORM pg_catalog.pg_notify('${CHANGES_CHANNEL}', TG_TABLE_SCHEMA);
  END IF;
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
 * The head's wake-up trigger: AFTER INSERT OR UPDATE, once per statement (never per row, and
 * nothing in the chain trigger), so a write pays one trigger call and one `pg_notify` however
 * many versions it appends. Set-based loads switch only the chain trigger off, so they notify too.
 */
export function notifyTriggerDdl(o: TableObjects): string {
  return `
DROP TRIGGER IF EXISTS appendlog_notify ON ${o.head};
CREATE TRIGGER appendlog_notify AFTER INSERT OR UPDATE ON ${o.head}
  FOR EACH STATEMENT EXECUTE FUNCTION ${quoteIdent(o.schema)}.appendlog_notify_changes();
`;
}
