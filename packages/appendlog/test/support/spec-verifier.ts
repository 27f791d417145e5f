/**
 * An independent verifier of `appendlog/v1`, written from docs/spec.md alone: it reads the schema
 * history, logs and heads by the names §10 gives, through a bare SQL client (node-postgres or
 * PGlite), recomputes every content hash, version hash and link (§4, §5), checks the heads (§5.1),
 * builds the checkpoint tree (§6) and checks a C2SP checkpoint against it (§7.1, §7.2). It imports
 * nothing of the library (spec-verifier.test.ts reads this source to make sure); what it knows of
 * the storage is in one function, {@link readTable}.
 */
import { makeVkey, readCheckpoint, readVkey, verifyNote } from './c2sp-verifier.js';
import {
  canonicalTime,
  checkEntry,
  leafData,
  type SpecFailure,
  type StoredHead,
  type StoredVersion,
  treeRoot,
} from './spec-verifier-rules.js';

/** A bare SQL client: `pg.Client#query` and `PGlite#query` both fit. */
export interface SqlClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface SpecVerifyResult {
  ok: boolean;
  failures: SpecFailure[];
  /** Versions read. */
  versions: number;
  /** Erased versions among them (§5.4). */
  erased: number;
  /** The tree tables (§6.2). */
  tables: string[];
  /** The tree of §6 below `horizon`: the one given, else the snapshot's. */
  tree: { horizon: string; size: number; root: Buffer };
}

/** A column as the schema history records it (§10.1). */
interface RecordedColumn {
  sqlName: string;
  type: string;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** `bytea` read as text with `bytea_output = 'hex'`: `\x…`. */
const bytes = (text: unknown) => (text === null ? null : Buffer.from(String(text).slice(2), 'hex'));
const str = (x: unknown) => (x === null ? null : String(x));
/** The log's own columns (§10.2). */
const LOG_COLUMNS = [
  'seq',
  'entry_id',
  'version',
  'op',
  'recorded_at',
  'tx_id',
  'actor',
  'reason',
  'meta',
  'salt',
  'content_hash',
  'parent_hash',
  'hash',
  'redacted_at',
];
const RESERVED = [...LOG_COLUMNS, 'created_at', 'updated_at', 'deleted'];
/** `format_type` names of the nine types (§3). */
const SQL_TYPES: Record<string, string> = {
  'timestamp with time zone': 'timestamptz',
};

/**
 * The storage of one table (§10.2, §10.3): every version in `(entry_id, version, seq)` order and
 * every head row, each column read as `::text` under §3's settings.
 */
async function readTable(
  q: SqlClient,
  schema: string,
  table: string,
  columns: readonly RecordedColumn[],
): Promise<{ versions: StoredVersion[]; heads: Map<string, StoredHead> }> {
  const user = columns.map((c, i) => `, ${ident(c.sqlName)}::text AS u${i}`).join('');
  const values = (r: Record<string, unknown>) => {
    const m = new Map<string, string | null>();
    columns.forEach((c, i) => {
      const v = str(r[`u${i}`]);
      m.set(c.sqlName, v !== null && c.type === 'timestamptz' ? canonicalTime(v) : v);
    });
    return m;
  };
  const own = (r: Record<string, unknown>) => ({
    entryId: String(r.entry_id),
    version: Number(r.version),
    seq: BigInt(String(r.seq)),
    op: String(r.op),
    recordedAt: canonicalTime(String(r.recorded_at)),
    txId: String(r.tx_id),
    actor: str(r.actor),
    reason: str(r.reason),
    meta: str(r.meta),
    hash: bytes(r.hash),
    parentHash: bytes(r.parent_hash),
    redactedAt: r.redacted_at === null ? null : canonicalTime(String(r.redacted_at)),
    values: values(r),
  });
  const named = (suffix: string) => `${ident(schema)}.${ident(`${table}_${suffix}`)}`;
  const log = await q.query(
    `SELECT ${LOG_COLUMNS.map((c) => `${c}::text`).join(', ')}${user}
       FROM ${named('log')} ORDER BY entry_id, version, seq`,
  );
  const versions = (log.rows as Record<string, unknown>[]).map((r) => ({
    ...own(r),
    salt: bytes(r.salt),
    contentHash: bytes(r.content_hash),
  }));
  const head = await q.query(
    `SELECT entry_id::text, version::text, seq::text, op, recorded_at::text, tx_id::text, actor, reason,
            meta::text, hash::text, parent_hash::text, redacted_at::text, deleted, created_at::text${user}
       FROM ${named('head')}`,
  );
  const heads = new Map<string, StoredHead>();
  for (const r of head.rows as Record<string, unknown>[]) {
    heads.set(String(r.entry_id), {
      ...own(r),
      deleted: r.deleted === true,
      createdAt: canonicalTime(String(r.created_at)),
    });
  }
  return { versions, heads };
}

/** §10.1: each table's latest recorded columns. */
async function recordedTables(q: SqlClient, schema: string): Promise<Map<string, RecordedColumn[]>> {
  const { rows } = await q.query(
    `SELECT DISTINCT ON (table_name) table_name, definition::text AS d
       FROM ${ident(schema)}.appendlog_schema_history ORDER BY table_name, seq DESC`,
  );
  const tables = new Map<string, RecordedColumn[]>();
  for (const r of rows as { table_name: string; d: string }[]) {
    const def = JSON.parse(r.d) as { columns: RecordedColumn[] };
    tables.set(
      r.table_name,
      def.columns.map((c) => ({ sqlName: c.sqlName, type: c.type })),
    );
  }
  return tables;
}

/** §10.2: the log's columns and their types, or null when the log is missing. */
async function logColumns(q: SqlClient, schema: string, table: string): Promise<Map<string, string> | null> {
  const { rows } = await q.query(
    `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, `${table}_log`],
  );
  if (rows.length === 0) return null;
  return new Map(
    (rows as { name: string; type: string }[]).map((r) => [r.name, SQL_TYPES[r.type] ?? r.type]),
  );
}

/**
 * Verifies schema `schema` in one snapshot (§10): §5 for every table of the schema history and
 * the tree of §6 below `horizon` (default: the snapshot's, §6.2).
 */
export async function specVerify(
  q: SqlClient,
  schema: string,
  options: { horizon?: string } = {},
): Promise<SpecVerifyResult> {
  await q.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    for (const s of [`TimeZone = 'UTC'`, `DateStyle = 'ISO, YMD'`, `bytea_output = 'hex'`])
      await q.query(`SET LOCAL ${s}`);
    const result = await verifySnapshot(q, schema, options.horizon);
    await q.query('COMMIT');
    return result;
  } catch (e) {
    await q.query('ROLLBACK');
    throw e;
  }
}

async function verifySnapshot(q: SqlClient, schema: string, asked?: string): Promise<SpecVerifyResult> {
  const failures: SpecFailure[] = [];
  const fail = (f: SpecFailure) => failures.push(f);
  const { rows } = await q.query(
    'SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text AS h',
  );
  const horizon = BigInt(asked ?? (rows[0] as { h: string }).h);
  const leaves: { tx: bigint; table: string; seq: bigint; data: Buffer }[] = [];
  const tables: string[] = [];
  let versions = 0;
  let erased = 0;
  for (const [table, recorded] of await recordedTables(q, schema)) {
    const actual = await logColumns(q, schema, table);
    if (actual === null) {
      fail({ table, entryId: null, version: null, problem: 'table_missing' });
      continue;
    }
    tables.push(table);
    const readable = recorded.filter((c) => {
      const type = actual.get(c.sqlName);
      if (type === undefined) fail({ table, entryId: null, version: null, problem: 'column_missing' });
      else if (type !== c.type) fail({ table, entryId: null, version: null, problem: 'column_type_changed' });
      return type === c.type;
    });
    for (const name of actual.keys()) {
      if (!RESERVED.includes(name) && !recorded.some((c) => c.sqlName === name))
        fail({ table, entryId: null, version: null, problem: 'column_unexpected' });
    }
    const stored = await readTable(q, schema, table, readable);
    const byEntry = new Map<string, StoredVersion[]>();
    for (const v of stored.versions) {
      versions += 1;
      if (v.redactedAt !== null) erased += 1;
      const list = byEntry.get(v.entryId) ?? [];
      list.push(v);
      byEntry.set(v.entryId, list);
      if (BigInt(v.txId) < horizon)
        leaves.push({ tx: BigInt(v.txId), table, seq: v.seq, data: leafData(table, v) });
    }
    for (const [entryId, list] of byEntry) {
      checkEntry(table, list, stored.heads.get(entryId) ?? null, readable.length === recorded.length, fail);
    }
    for (const [entryId] of stored.heads) {
      if (!byEntry.has(entryId)) fail({ table, entryId, version: 1, problem: 'log_missing' });
    }
  }
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const cmp = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
  // §6.2: by transaction, then table name (bytes), then seq.
  leaves.sort((a, b) => cmp(a.tx, b.tx) || byBytes(a.table, b.table) || cmp(a.seq, b.seq));
  return {
    ok: failures.length === 0,
    failures,
    versions,
    erased,
    tables: tables.sort(byBytes),
    tree: {
      horizon: horizon.toString(),
      size: leaves.length,
      root: treeRoot(leaves.map((l) => l.data)),
    },
  };
}

/** A checkpoint's fields (§7.1). */
export interface SpecCheckpoint {
  origin: string;
  treeSize: number;
  root: Buffer;
  id: number;
  schema: string;
  horizon: string;
  createdAt: string;
  tables: string[];
}

/**
 * Reads a signed C2SP checkpoint (§7.1, §7.2) and checks the log's Ed25519 signature with its raw
 * 32-byte public key; throws unless the text has exactly §7.1's eight lines and the signature holds.
 */
export function readSignedCheckpoint(note: string, publicKey: Buffer): SpecCheckpoint {
  const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const c = readCheckpoint(text);
  if (!verifyNote(note, [readVkey(makeVkey(c.origin, 0x01, publicKey))]))
    throw new Error('the log signature does not verify');
  const [spec, schema, horizon, time, tables, ...more] = c.extensions;
  const m = [
    /^appendlog\/v1 checkpoint ([1-9]\d*)$/.exec(spec ?? ''),
    /^schema (\S+)$/.exec(schema ?? ''),
    /^horizon (0|[1-9]\d*)$/.exec(horizon ?? ''),
    /^time (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)$/.exec(time ?? ''),
    /^tables((?: [a-z_][a-z0-9_]*)*)$/.exec(tables ?? ''),
  ];
  if (more.length > 0 || m.some((x) => x === null)) throw new Error('not an appendlog/v1 checkpoint');
  const [id, s, h, t, list] = m.map((x) => x![1]!) as [string, string, string, string, string];
  return {
    origin: c.origin,
    treeSize: Number(c.size),
    root: c.root,
    id: Number(id),
    schema: s,
    horizon: h,
    createdAt: t,
    tables: list === '' ? [] : list.slice(1).split(' '),
  };
}
