import { findShardedLogs } from '../integrity/tx-ids-ahead.js';
import { resolveContext } from '../model/context.js';
import type { Session } from '../session.js';
import { erasureObjects } from '../sql/erasure-ddl.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { dueSql, retentionSql, ts } from './purge-sql.js';
import type { PurgedEntry, PurgeHooks, PurgeResult, ScheduledEntry } from './purge-types.js';

/** The reason recorded on a forget appended by the recycle-bin retention. */
export function retentionReason(deletedFor: string): string {
  return `recycle-bin retention: deleted and not restored within ${deletedFor}`;
}

export async function scheduleByRetention(
  db: Session,
  table: string,
  deletedFor: string,
  now: string | null,
  max: number,
  batchSize: number,
  result: PurgeResult,
): Promise<number> {
  const o = tableObjects(db.schema, table);
  const sql = retentionSql(db, table, { capped: true, lock: await canLockRows(db, table) });
  let count = 0;
  while (count < max) {
    const n = Math.min(batchSize, max - count);
    const rows = await db.pinnedTransaction(async (tx) => {
      const taken = await tx.run<{ entry_id: string; version: number; deleted_at: string }>(sql, [
        now,
        deletedFor,
        n,
      ]);
      const ctx = resolveContext(tx.context, {
        actor: tx.context.actor ?? 'appendlog purge',
        reason: retentionReason(deletedFor),
        meta: { erasure: { after: '0 seconds', retention: deletedFor } },
      });
      for (const r of taken) {
        // Every argument typed: an overload someone else planted in the schema cannot match better.
        await tx.run(
          `SELECT version FROM ${o.append}('forget'::text, $1::uuid, $2::integer, $3::text, $4::text, $5::jsonb, NULL::jsonb)`,
          [r.entry_id, Number(r.version), ctx.actor, ctx.reason, ctx.meta],
        );
      }
      return taken;
    });
    for (const r of rows) result.scheduled.push(scheduled(table, r, deletedFor));
    count += rows.length;
    if (rows.length < n) break;
  }
  return count;
}

export async function previewDue(
  db: Session,
  table: string,
  now: string | null,
  n: number,
): Promise<PurgedEntry[]> {
  const rows = await db.run<{ entry_id: string; version: number; reason: string | null; due_at: string }>(
    dueSql(db, table, { capped: false, lock: false }),
    [now, n],
  );
  return rows.map((r) => ({
    table,
    entryId: r.entry_id,
    reason: r.reason,
    dueAt: new Date(r.due_at),
    versions: Number(r.version),
  }));
}

/**
 * One batch, one transaction: takes up to `n` due entries (skipping those another transaction
 * holds) and redacts each. `taken` counts the entries the batch took; `erased` lists those it
 * erased, fewer when a purge running at once erased one between this batch's read and its lock.
 */
export async function eraseBatch(
  db: Session,
  table: string,
  now: string | null,
  n: number,
  batch: number,
  hooks: PurgeHooks,
): Promise<{ taken: number; erased: PurgedEntry[] }> {
  const redact = erasureObjects(tableObjects(db.schema, table)).redact;
  const lock = await canLockRows(db, table);
  return db.pinnedTransaction(async (tx) => {
    const due = await tx.run<{ entry_id: string }>(dueSql(db, table, { capped: true, lock }), [now, n]);
    // The redaction returns 0 for an entry a purge running at once erased first.
    const redacted: string[] = [];
    for (const [index, row] of due.entries()) {
      const [r] = await tx.run<{ n: number }>(`SELECT ${redact}($1::uuid) AS n`, [row.entry_id]);
      if (Number(r?.n) > 0) redacted.push(row.entry_id);
      await hooks.afterRedact?.({ tx, table, entryId: row.entry_id, batch, index });
    }
    const done = await tx.run<{ entry_id: string; reason: string; due_at: string; versions: number }>(
      `SELECT entry_id::text AS entry_id, reason, ${ts('due_at')} AS due_at, versions
         FROM ${catalogName(db.schema, 'appendlog_erasures')}
        WHERE table_name = $1 AND entry_id = ANY($2::uuid[])
        ORDER BY seq`,
      [table, redacted],
    );
    const erased = done.map((r) => ({
      table,
      entryId: r.entry_id,
      reason: r.reason,
      dueAt: new Date(r.due_at),
      versions: Number(r.versions),
    }));
    return { taken: due.length, erased };
  });
}

/**
 * Whether the purge's queries may lock the rows they take (`FOR UPDATE … SKIP LOCKED`, so that
 * purges running at once share the work): not on a row-sharded table, where Citus refuses row
 * locks in a query over several shards. There each entry's redaction still locks its head row and
 * skips an entry erased in between.
 */
async function canLockRows(db: Session, table: string): Promise<boolean> {
  return (await findShardedLogs(db, [table])).length === 0;
}

/** A scheduled entry of the report. */
export function scheduled(
  table: string,
  r: { entry_id: string; deleted_at: string },
  deletedFor: string,
): ScheduledEntry {
  return { table, entryId: r.entry_id, deletedAt: new Date(r.deleted_at), retention: deletedFor };
}
