import {
  canonicalContent,
  canonicalText,
  canonicalTimestamp,
  contentHash,
  versionHash,
} from '../../src/hash/spec.js';
import type { Database } from '../../src/index.js';
import { SYSTEM_COLUMNS } from '../../src/model/log-columns.js';
import { columnTypeOfSql } from '../../src/schema/column.js';

const SYSTEM = new Set(SYSTEM_COLUMNS);

export interface ChainCheck {
  checked: number;
  /** Versions with `redacted_at` set: content not recomputable, version hash and links still checked. */
  erased: number;
  failures: string[];
}

/**
 * A small, independent re-computation of every hash of one table's log, per docs/spec.md, from
 * the `::text` of each column read under TimeZone UTC and DateStyle ISO: it trusts nothing the
 * database computed. (The full verifier lives with the integrity work; this one keeps the
 * migration tests self-contained.)
 */
export async function verifyChain(db: Database, table: string): Promise<ChainCheck> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    await tx.query(`SET LOCAL DateStyle = 'ISO, YMD'`);
    const cols = await tx.query<{ name: string; type: string }>(
      `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
      [`"${table}_log"`],
    );
    const user = cols.filter((c) => !SYSTEM.has(c.name));
    const select = user.map((c, i) => `, l."${c.name}"::text AS u${i}`).join('');
    const rows = await tx.query<Record<string, string | null>>(
      `SELECT l.entry_id::text AS entry_id, l.version::text AS version, l.op, l.recorded_at::text AS recorded_at,
              l.tx_id::text AS tx_id, l.actor, l.reason, l.meta::text AS meta,
              pg_catalog.encode(l.salt, 'hex') AS salt, pg_catalog.encode(l.content_hash, 'hex') AS content_hash,
              pg_catalog.encode(l.parent_hash, 'hex') AS parent_hash, pg_catalog.encode(l.hash, 'hex') AS hash,
              l.redacted_at::text AS redacted_at${select}
         FROM "${table}_log" l ORDER BY l.entry_id, l.version`,
    );
    const failures: string[] = [];
    let erased = 0;
    let previous: Record<string, string | null> | undefined;
    for (const r of rows) {
      const where = `${table} ${r.entry_id} v${r.version}`;
      const first = previous?.entry_id !== r.entry_id;
      const expectedVersion = first ? 1 : Number(previous!.version) + 1;
      if (Number(r.version) !== expectedVersion) failures.push(`${where}: version gap`);
      const expectedParent = first ? null : previous!.hash;
      // Stored by table code before revision 9; from then on null on every version, its parent
      // being the previous version's hash (docs/spec.md §8).
      const parent = r.parent_hash ?? expectedParent ?? null;
      if (parent !== expectedParent) failures.push(`${where}: parent_hash does not link`);
      if (r.redacted_at !== null) {
        erased++;
        const kept = user.some((_, i) => r[`u${i}`] !== null);
        if (r.salt !== null || kept) failures.push(`${where}: redacted but content kept`);
      } else {
        const values = user.map((c, i) => {
          const text = r[`u${i}`] ?? null;
          const type = columnTypeOfSql(c.type);
          if (type === undefined) throw new Error(`unknown column type ${c.type}`);
          return [c.name, text === null ? null : canonicalText(type, text)] as const;
        });
        const content = contentHash(Buffer.from(r.salt ?? '', 'hex'), canonicalContent(values));
        if (content.toString('hex') !== r.content_hash) failures.push(`${where}: content_hash mismatch`);
      }
      const hash = versionHash({
        table,
        entryId: r.entry_id!,
        version: Number(r.version),
        op: r.op!,
        recordedAt: canonicalTimestamp(r.recorded_at!),
        txId: r.tx_id!,
        actor: r.actor ?? null,
        reason: r.reason ?? null,
        meta: r.meta ?? null,
        parentHash: parent === null ? null : Buffer.from(parent, 'hex'),
        contentHash: Buffer.from(r.content_hash!, 'hex'),
      });
      if (hash.toString('hex') !== r.hash) failures.push(`${where}: hash mismatch`);
      previous = r;
    }
    return { checked: rows.length, erased, failures };
  });
}
