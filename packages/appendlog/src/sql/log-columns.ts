/**
 * The log's own columns, before the table's, declared once: the storage DDL, the chain trigger's
 * and the set-based load's INSERTs, the erasure guard and the verifier's head check derive from it.
 */
export const LOG_OWN_COLUMNS = [
  'seq bigint GENERATED ALWAYS AS IDENTITY',
  'entry_id uuid NOT NULL',
  'version integer NOT NULL',
  'op text NOT NULL',
  'recorded_at timestamptz NOT NULL',
  'tx_id xid8 NOT NULL',
  'actor text',
  'reason text',
  'meta jsonb',
  'salt bytea',
  'content_hash bytea NOT NULL',
  'parent_hash bytea',
  'hash bytea NOT NULL',
  'redacted_at timestamptz',
];

/** The names of {@link LOG_OWN_COLUMNS}, in order. */
export const LOG_OWN_COLUMN_NAMES: readonly string[] = LOG_OWN_COLUMNS.map((c) => c.slice(0, c.indexOf(' ')));

/**
 * The columns the chain trigger (or the set-based load) writes into a version row: all of the
 * log's own but `seq` (an identity) and `redacted_at` (erasure's mark), in order.
 */
export const VERSION_COLUMNS: readonly string[] = LOG_OWN_COLUMN_NAMES.filter(
  (c) => c !== 'seq' && c !== 'redacted_at',
);

/**
 * The version's own columns the head holds as copies, beyond the version, op, time and hash it
 * keeps as bookkeeping: the head-first upgrade fills them from the log, and verify compares them.
 */
export const HEAD_COPY_COLUMNS: readonly string[] = [
  'tx_id',
  'actor',
  'reason',
  'meta',
  'parent_hash',
  'redacted_at',
];
