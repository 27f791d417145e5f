/**
 * The log's own columns, before the table's, declared once, in storage order. The storage DDL,
 * the head's copies, the chain trigger's and the set-based load's INSERTs, the erasure guard, the
 * version hash (its fields and their order), the verifier's head check, the reserved column names
 * and the generated types all derive from this list.
 */
export const LOG_COLUMNS = [
  { name: 'seq', type: 'bigint', identity: true, notNull: true, written: false },
  { name: 'entry_id', type: 'uuid', notNull: true, hashed: true },
  { name: 'version', type: 'integer', notNull: true, hashed: true },
  { name: 'op', type: 'text', notNull: true, hashed: true },
  { name: 'recorded_at', type: 'timestamptz', notNull: true, hashed: true },
  { name: 'tx_id', type: 'xid8', notNull: true, hashed: true, headCopy: true },
  { name: 'actor', type: 'text', hashed: true, headCopy: true },
  { name: 'reason', type: 'text', hashed: true, headCopy: true },
  { name: 'meta', type: 'jsonb', hashed: true, headCopy: true },
  { name: 'salt', type: 'bytea' },
  { name: 'content_hash', type: 'bytea', notNull: true },
  { name: 'parent_hash', type: 'bytea', headCopy: true, derived: true },
  { name: 'hash', type: 'bytea', notNull: true },
  { name: 'redacted_at', type: 'timestamptz', written: false, headCopy: true },
] as const satisfies readonly LogColumn[];

/** One of the log's own columns. */
export interface LogColumn {
  /** Its SQL name. */
  name: string;
  type: 'bigint' | 'uuid' | 'integer' | 'text' | 'timestamptz' | 'xid8' | 'jsonb' | 'bytea';
  /** `GENERATED ALWAYS AS IDENTITY` (the log's `seq`). */
  identity?: boolean;
  notNull?: boolean;
  /** False for the two the chain trigger never writes: `seq` (an identity) and `redacted_at` (erasure's mark). */
  written?: boolean;
  /** A field of the version hash (docs/spec.md §4), which takes them in this list's order. */
  hashed?: boolean;
  /** Copied into the head beside the version, op, time and hash the head keeps as bookkeeping. */
  headCopy?: boolean;
  /**
   * Left null by the chain trigger and the set-based load because it can be derived
   * (docs/spec.md §10.2): `parent_hash`, the previous version's `hash`. Table code before revision 9
   * stored it in every version, and those values stay.
   */
  derived?: boolean;
}

type Column = (typeof LOG_COLUMNS)[number];

/** The log's own columns as they are declared in its `CREATE TABLE`, in order. */
export const LOG_OWN_COLUMNS: readonly string[] = LOG_COLUMNS.map(
  (c: LogColumn) =>
    `${c.name} ${c.type}${c.identity ? ' GENERATED ALWAYS AS IDENTITY' : c.notNull ? ' NOT NULL' : ''}`,
);

/** The names of {@link LOG_COLUMNS}, in order. */
export const LOG_OWN_COLUMN_NAMES: readonly string[] = LOG_COLUMNS.map((c) => c.name);

/**
 * The columns the chain trigger (or the set-based load) writes into a version row: all of the
 * log's own but `seq` (an identity) and `redacted_at` (erasure's mark), in order.
 */
export const VERSION_COLUMNS: readonly string[] = LOG_COLUMNS.filter(
  (c: LogColumn) => c.written !== false,
).map((c) => c.name);

/**
 * The columns the chain trigger (or the set-based load) stores in a version row: the
 * {@link VERSION_COLUMNS} less the derived ones, which it leaves null.
 */
export const STORED_VERSION_COLUMNS: readonly string[] = LOG_COLUMNS.filter(
  (c: LogColumn) => c.written !== false && !c.derived,
).map((c) => c.name);

/**
 * The version's own columns the head holds as copies, beyond the version, op, time and hash it
 * keeps as bookkeeping: the head-first upgrade fills them from the log, and verify compares them.
 */
export const HEAD_COPY_COLUMNS: readonly string[] = LOG_COLUMNS.filter((c: LogColumn) => c.headCopy).map(
  (c) => c.name,
);

type HashedColumn = Extract<Column, { hashed: true }>;

/** One of {@link VERSION_HASH_FIELDS}. */
export type VersionHashField = HashedColumn['name'];

/**
 * The version's own fields a version hash covers, as the log's column names, in preimage order
 * (docs/spec.md §4): after `F(domain) ‖ F(table)`, before the parent and content hashes.
 */
export const VERSION_HASH_FIELDS: readonly VersionHashField[] = LOG_COLUMNS.filter(
  (c): c is HashedColumn => 'hashed' in c && c.hashed,
).map((c) => c.name);

/** `recorded_at` → `recordedAt`: a column's name in objects (versions, proofs, export blocks). */
type Camel<S extends string> = S extends `${infer A}_${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;

/** The key of a log column in objects: `recorded_at` → `recordedAt`. */
export function columnKey<S extends string>(name: S): Camel<S> {
  return name.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase()) as Camel<S>;
}

/** The hashed fields of {@link VERSION_HASH_FIELDS} as object keys, in the same order. */
export const VERSION_HASH_KEYS: readonly Camel<VersionHashField>[] = VERSION_HASH_FIELDS.map(columnKey);

/**
 * The fields of a version that its hash covers, as canonical texts (docs/spec.md §4), keyed by
 * {@link VERSION_HASH_KEYS}: null only where the log's column is nullable. `recordedAt` reads
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ`, `meta` is PostgreSQL's jsonb text output.
 */
export type VersionFields = {
  [C in HashedColumn as Camel<C['name']>]: C extends { notNull: true } ? string : string | null;
};

/** The hashed fields of `row`, which may hold more. */
export function versionFieldsOf(row: VersionFields): VersionFields {
  return Object.fromEntries(VERSION_HASH_KEYS.map((key) => [key, row[key]])) as VersionFields;
}

/**
 * The head's own columns, before the table's, in storage order: the latest version's own columns
 * (less the salt and the content hash, which only the log keeps) as the log declares them, the
 * `seq` of its log row, whether the entry is deleted or forgotten, and when it was created. Every
 * one is written by the chain trigger alone. The entry id is the head's key, and new entries draw
 * it here.
 */
export const HEAD_OWN_COLUMNS: readonly string[] = [
  'entry_id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid()',
  ...[
    'version',
    'op',
    'recorded_at',
    'tx_id',
    'actor',
    'reason',
    'meta',
    'hash',
    'parent_hash',
    'redacted_at',
  ].map((name) => {
    const c: LogColumn = LOG_COLUMNS.find((c) => c.name === name)!;
    return `${name} ${c.type}${c.notNull ? ' NOT NULL' : ''}`;
  }),
  'seq bigint NOT NULL',
  'deleted boolean NOT NULL',
  'created_at timestamptz NOT NULL',
];

/**
 * The names appendlog keeps for itself, which no column of a table may have: the log's own, the
 * head's `created_at` and `deleted`, and `updated_at`, the view's name for `recorded_at`.
 */
export const SYSTEM_COLUMNS: readonly string[] = [
  ...LOG_OWN_COLUMN_NAMES,
  'created_at',
  'updated_at',
  'deleted',
];
