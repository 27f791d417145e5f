import { IntegrityError, InvalidStateError, InvalidUsageError } from '../errors.js';
import { withDdlAllowed } from '../migrate/ddl-guard.js';
import {
  columnList,
  type LogPartition,
  logPartitions,
  logStatementTriggersDdl,
  partitionName,
} from '../migrate/partition.js';
import { quoteIdent } from '../schema/names.js';
import type { Session } from '../session.js';
import { utcIsoSql } from '../sql/canonical.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { recordedTables } from './catalog.js';
import { toHex } from './hex.js';
import { type ArchivePoint, existingLogs, latestArchive, storedCheckpoint, streamLeaves } from './leaves.js';
import { MerkleAccumulator } from './merkle.js';

/** Options of `db.archive()`. */
export interface ArchiveOptions {
  /** The checkpoint whose horizon the archive takes the versions below (default: the latest). */
  checkpointId?: number;
}

/** One table's part of an archive. */
export interface ArchivedTable {
  table: string;
  /** The table now holding the archived versions, detached from the log: export it, then drop it. */
  archiveTable: string;
  /** Versions that left the log. */
  archived: number;
  /** Of those, each entry's last one, also kept in the log at the boundary. */
  kept: number;
  /** Versions written since the horizon, moved to the new live partition. */
  moved: number;
}

/**
 * What `db.archive()` did: an archive of every table's versions below a checkpoint's horizon (its
 * number, checkpoint, horizon, the tree's size and root below it, and the last transaction that
 * wrote a version now archived), with each table's part.
 */
export interface ArchiveResult extends ArchivePoint {
  createdAt: string;
  tables: ArchivedTable[];
}

/**
 * Archives a schema's range-partitioned logs (docs/scale-out.md, "Range-partitioned logs and
 * archives"; docs/spec.md §7.8): every version below a checkpoint's horizon leaves the logs, into
 * a table per log (`<t>_log_archive_<n>`, detached, read-only) to export (`exportCar(db, file,
 * { archive: n })`) and drop (`db.dropArchive(n)`). The tree below the horizon stays verifiable
 * from the checkpoint's leaf index, and each entry's last archived version stays in the log, with
 * its parent link stored, so that its chain goes on from it. In one transaction, holding each log
 * exclusively while it splits (writes and reads of the log wait): versions written since the
 * horizon move to the new live partition, and the kept ones to the boundary partition. Refuses
 * when the leaves below the horizon no longer hash to the checkpoint's root.
 */
export async function archiveLogs(db: Session, options: ArchiveOptions = {}): Promise<ArchiveResult> {
  return db.pinnedTransaction(async (tx) => {
    // With the checkpoints' lock: no checkpoint is taken while the tree's source changes.
    await tx.run(
      `SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('appendlog.checkpoint'), pg_catalog.hashtext($1))`,
      [tx.schema],
    );
    const tables = await existingLogs(
      tx,
      (await recordedTables(tx)).map((t) => t.table),
    );
    const partitions = new Map<string, LogPartition[]>();
    for (const t of tables) {
      const parts = await logPartitions(tx, tx.schema, t);
      if (parts === null) {
        throw new InvalidUsageError(
          `archive refused: ${tx.schema}.${t}_log is not partitioned; an archive takes every table's versions below one horizon: run migrate(tables, { partitioned: true }) first (docs/scale-out.md)`,
        );
      }
      partitions.set(t, parts);
    }
    const cp = await storedCheckpoint(tx, options.checkpointId);
    if (cp === null) {
      throw new InvalidStateError(
        options.checkpointId === undefined
          ? 'archive refused: there is no checkpoint yet; an archive takes the versions below one: take one with db.checkpoint()'
          : `archive refused: there is no checkpoint ${options.checkpointId}`,
      );
    }
    const previous = await latestArchive(tx);
    if (previous !== null && BigInt(cp.horizon) <= BigInt(previous.horizon)) {
      throw new InvalidStateError(
        `archive refused: archive ${previous.id} already took the versions below transaction ${previous.horizon}; checkpoint ${cp.id}'s horizon ${cp.horizon} is not above it: take a new checkpoint first`,
      );
    }
    // What leaves must still be what the checkpoint holds: afterwards its leaf index stands for them.
    const acc = new MerkleAccumulator();
    await streamLeaves(tx, tables, cp.horizon, (leaves) => {
      for (const leaf of leaves) acc.pushLeafHash(leaf.leafHash);
    });
    if (acc.size !== cp.treeSize || toHex(acc.root()) !== cp.root) {
      throw new IntegrityError(
        `archive refused: the versions below checkpoint ${cp.id}'s horizon (${acc.size}) no longer hash to its root: run verify against it`,
      );
    }
    const [last] =
      tables.length === 0
        ? []
        : await tx.run<{ tx: string | null }>(
            `SELECT pg_catalog.max(x.tx_id)::text AS tx FROM (${tables
              .map(
                (t) =>
                  `SELECT pg_catalog.max(tx_id) AS tx_id FROM ${tableObjects(tx.schema, t).log} WHERE tx_id < $1::xid8`,
              )
              .join(' UNION ALL ')}) x`,
            [cp.horizon],
          );
    const id = (previous?.id ?? 0) + 1;
    // Every log before any splits: to writers and readers, the archive is one step.
    if (tables.length > 0) {
      await tx.exec(
        `LOCK TABLE ${tables.map((t) => tableObjects(tx.schema, t).log).join(', ')} IN ACCESS EXCLUSIVE MODE`,
      );
    }
    const archived: ArchivedTable[] = [];
    await withDdlAllowed(tx, async () => {
      for (const t of tables) archived.push(await splitLog(tx, t, partitions.get(t)!, cp.horizon, id));
    });
    const [now] = await tx.run<{ t: string }>(`SELECT ${utcIsoSql('pg_catalog.clock_timestamp()')} AS t`);
    const result: ArchiveResult = {
      id,
      checkpointId: cp.id,
      horizon: cp.horizon,
      treeSize: cp.treeSize,
      root: cp.root,
      lastTxId: last?.tx ?? null,
      createdAt: now!.t,
      tables: archived,
    };
    await tx.run(
      `INSERT INTO ${catalogName(tx.schema, 'appendlog_archives')} (id, checkpoint_id, created_at, horizon, tree_size, root, body)
       VALUES ($1, $2, $3::timestamptz, $4::xid8, $5, pg_catalog.decode($6, 'hex'), $7::jsonb)`,
      [id, cp.id, result.createdAt, cp.horizon, cp.treeSize, cp.root, JSON.stringify(result)],
    );
    return result;
  });
}

/** The number of rows a statement reported. */
async function count(tx: Session, sql: string): Promise<number> {
  const [row] = await tx.run<{ n: string }>(sql);
  return Number(row?.n ?? 0);
}

/**
 * Splits one log at `horizon`: its live partition and boundary partition (if any) are detached;
 * a new live partition (from the horizon) takes the versions written since, a new boundary
 * partition (below it) each entry's last version below it with its parent link stored, and the
 * old live partition, less what moved, becomes the archive table, each entry's first version in
 * it also with its parent link stored, so that it verifies on its own.
 */
async function splitLog(
  tx: Session,
  table: string,
  parts: LogPartition[],
  horizon: string,
  id: number,
): Promise<ArchivedTable> {
  const s = quoteIdent(tx.schema);
  const rel = (name: string) => `${s}.${quoteIdent(name)}`;
  const o = tableObjects(tx.schema, table);
  const live = parts.find((p) => p.to === null);
  const kept = parts.find((p) => p.from === null && p.to !== null);
  if (live === undefined || parts.length !== (kept === undefined ? 1 : 2)) {
    throw new InvalidStateError(
      `archive refused: ${tx.schema}.${table}_log has partitions appendlog did not make (${parts.map((p) => p.name).join(', ')})`,
    );
  }
  const cols = await columnList(tx, o.log);
  const list = cols.join(', ');
  const h = `'${BigInt(horizon)}'::xid8`;
  const oldLive = rel(live.name);
  const oldKept = kept === undefined ? null : rel(kept.name);
  const newLive = partitionName(table, 'p', id);
  const newKept = partitionName(table, 'k', id);
  const archiveName = `${table}_log_archive_${id}`;
  await tx.exec(`ALTER TABLE ${o.log} DETACH PARTITION ${oldLive}`);
  if (oldKept !== null) await tx.exec(`ALTER TABLE ${o.log} DETACH PARTITION ${oldKept}`);
  await tx.exec(`CREATE TABLE ${rel(newLive)} PARTITION OF ${o.log} FOR VALUES FROM (${h}) TO (MAXVALUE)`);
  await tx.exec(`CREATE TABLE ${rel(newKept)} PARTITION OF ${o.log} FOR VALUES FROM (MINVALUE) TO (${h})`);
  // Into the new partitions directly, before their statement triggers exist, each row keeping its
  // seq (a partition has the log's identity from PostgreSQL 17 on).
  const moved = await count(
    tx,
    `WITH m AS (INSERT INTO ${rel(newLive)} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM ${oldLive} WHERE tx_id >= ${h} RETURNING 1)
     SELECT count(*)::text AS n FROM m`,
  );
  const below = `SELECT ${list} FROM ${oldLive} WHERE tx_id < ${h}${oldKept === null ? '' : ` UNION ALL SELECT ${list} FROM ${oldKept}`}`;
  const keptList = cols.map((c) =>
    c === quoteIdent('parent_hash') ? 'COALESCE(x.parent_hash, x.prev_hash)' : `x.${c}`,
  );
  const keptCount = await count(
    tx,
    `WITH k AS (
       INSERT INTO ${rel(newKept)} (${list}) OVERRIDING SYSTEM VALUE
       SELECT ${keptList.join(', ')} FROM (
         SELECT u.*, pg_catalog.lag(u.hash) OVER (PARTITION BY u.entry_id ORDER BY u.version) AS prev_hash,
                pg_catalog.row_number() OVER (PARTITION BY u.entry_id ORDER BY u.version DESC) AS rn
           FROM (${below}) u) x
        WHERE x.rn = 1
       RETURNING 1)
     SELECT count(*)::text AS n FROM k`,
  );
  // The old live partition becomes the archive: what moved leaves it, and each entry's first
  // version there links to the boundary version it follows, which only the old boundary holds.
  for (const trigger of ['appendlog_refuse_insert', 'appendlog_refuse_delete', 'appendlog_refuse_truncate'])
    await tx.exec(`DROP TRIGGER IF EXISTS ${trigger} ON ${oldLive}`);
  await tx.exec(`DELETE FROM ${oldLive} WHERE tx_id >= ${h}`);
  if (oldKept !== null) {
    await tx.exec(
      `UPDATE ${oldLive} a SET parent_hash = k.hash FROM ${oldKept} k
        WHERE k.entry_id = a.entry_id AND k.version = a.version - 1 AND a.parent_hash IS NULL`,
    );
    await tx.exec(`DROP TABLE ${oldKept}`);
  }
  const archivedCount = await count(tx, `SELECT count(*)::text AS n FROM ${oldLive}`);
  await tx.exec(`ALTER TABLE ${oldLive} RENAME TO ${quoteIdent(archiveName)}`);
  // The archive is read-only: exported, then dropped (the DDL guard lets only dropArchive do that).
  await tx.exec(
    `CREATE TRIGGER appendlog_archive_refuse BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${rel(archiveName)}
       FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse()`,
  );
  for (const p of [newLive, newKept]) {
    await tx.exec(
      `ALTER TABLE ${rel(p)} ADD CONSTRAINT ${quoteIdent(`${p}_pkey`)} PRIMARY KEY (entry_id, version)`,
    );
    await tx.exec(logStatementTriggersDdl(tx.schema, p));
  }
  return { table, archiveTable: archiveName, archived: archivedCount, kept: keptCount, moved };
}

/**
 * Drops the tables of archive `id` (`<t>_log_archive_<id>`), once they are exported: what they
 * held stays verifiable through the checkpoint's leaf index, and each entry's last version stays in
 * the log. Idempotent.
 */
export async function dropArchive(db: Session, id: number): Promise<string[]> {
  if (!Number.isSafeInteger(id) || id < 1)
    throw new InvalidUsageError('dropArchive() takes an archive number');
  return db.pinnedTransaction(async (tx) => {
    const archive = await latestArchive(tx);
    if (archive === null || id > archive.id) throw new InvalidStateError(`there is no archive ${id}`);
    const tables = (await recordedTables(tx)).map((t) => t.table);
    const dropped: string[] = [];
    await withDdlAllowed(tx, async () => {
      for (const t of tables) {
        const name = `${quoteIdent(tx.schema)}.${quoteIdent(`${t}_log_archive_${id}`)}`;
        const [exists] = await tx.run<{ ok: boolean }>(
          `SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok`,
          [name],
        );
        if (!exists?.ok) continue;
        await tx.exec(`DROP TABLE ${name}`);
        dropped.push(`${t}_log_archive_${id}`);
      }
    });
    return dropped;
  });
}
