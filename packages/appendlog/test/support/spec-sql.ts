import type { Database } from '../../src/index.js';
import type { ColumnType } from '../../src/schema/column.js';
import { quoteIdent, quoteLiteral } from '../../src/schema/names.js';
import { canonicalContentSql, canonicalTextSql, versionHashSql } from '../../src/sql/canonical.js';

/** A column value given as a SQL literal of its type, as the spec vectors list them. */
export interface LiteralColumn {
  name: string;
  type: ColumnType;
  /** The value's text, or null. */
  value: string | null;
}

const lit = (value: string | null, type: string): string =>
  value === null ? `NULL::${type}` : `${quoteLiteral(value)}::${type}`;

/** Runs the chain trigger's own SQL (src/sql/canonical.ts) over a SELECT of literals. */
export async function sqlCanonicalText(
  db: Database,
  type: ColumnType,
  value: string,
): Promise<{ iso: string; canonical: string }> {
  const [row] = await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    await tx.query(`SET LOCAL DateStyle = 'ISO, YMD'`);
    return tx.query<{ iso: string; canonical: string }>(
      `SELECT (r.v)::text AS iso, ${canonicalTextSql('r.v', type)} AS canonical FROM (SELECT ${lit(value, type)} AS v) r`,
    );
  });
  return row!;
}

/** The canonical text by the trigger's SQL only, under whatever settings the session has. */
export async function sqlCanonicalOnly(db: Database, type: ColumnType, value: string): Promise<string> {
  const [row] = await db.query<{ c: string }>(
    `SELECT ${canonicalTextSql('r.v', type)} AS c FROM (SELECT ${lit(value, type)} AS v) r`,
  );
  return row!.c;
}

/** Canonical content and content hash computed by the trigger's SQL. */
export async function sqlContent(
  db: Database,
  columns: readonly LiteralColumn[],
  saltHex: string,
): Promise<{ content: string; contentHash: string }> {
  const select = columns.map((c) => `${lit(c.value, c.type)} AS ${quoteIdent(c.name)}`).join(', ');
  const content = canonicalContentSql(
    db.schema,
    'r',
    columns.map((c) => ({ sqlName: c.name, type: c.type })),
  );
  const [row] = await db.query<{ content: string; content_hash: string }>(
    `SELECT pg_catalog.encode(x.c, 'hex') AS content,
            pg_catalog.encode(pg_catalog.sha256(pg_catalog.decode($1, 'hex') || x.c), 'hex') AS content_hash
       FROM (SELECT ${content} AS c FROM (SELECT ${select || '1 AS one'}) r) x`,
    [saltHex],
  );
  return { content: row!.content, contentHash: row!.content_hash };
}

/** The fields of a version hash as SQL literals. */
export interface LiteralVersion {
  table: string;
  entryId: string;
  version: number;
  op: string;
  /** A timestamptz literal (any offset). */
  recordedAt: string;
  txId: string;
  actor: string | null;
  reason: string | null;
  /** A jsonb literal, or null. */
  meta: string | null;
  parentHash: string | null;
  contentHash: string;
}

/** The version hash computed by the trigger's SQL. */
export async function sqlVersionHash(db: Database, v: LiteralVersion): Promise<string> {
  const hex = (h: string | null) =>
    h === null ? 'NULL::bytea' : `pg_catalog.decode(${quoteLiteral(h)}, 'hex')`;
  const [row] = await db.query<{ h: string }>(
    `SELECT pg_catalog.encode(${versionHashSql(db.schema, v.table, 'r')}, 'hex') AS h
       FROM (SELECT ${lit(v.entryId, 'uuid')} AS entry_id, ${v.version}::integer AS version, ${lit(v.op, 'text')} AS op,
                    ${lit(v.recordedAt, 'timestamptz')} AS recorded_at, ${lit(v.txId, 'xid8')} AS tx_id,
                    ${lit(v.actor, 'text')} AS actor, ${lit(v.reason, 'text')} AS reason, ${lit(v.meta, 'jsonb')} AS meta,
                    ${hex(v.parentHash)} AS parent_hash, ${hex(v.contentHash)} AS content_hash) r`,
  );
  return row!.h;
}
