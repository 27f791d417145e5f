import type { KeyObject } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';
import { checkStoredColumns, type RecordedTable, recordedTables } from './catalog.js';
import type { Checkpoint } from './checkpoint-format.js';
import { parseCheckpoint } from './checkpoint-parse.js';
import { checkCosignatures, type Witness } from './checkpoint-witnesses.js';
import { CursorReader } from './cursor.js';
import { toHex } from './hex.js';
import { leafKey, type NamedLeaf, storedLeafReader } from './leaf-reader.js';
import { existingLogs, latestArchive, orderedLeavesSql } from './leaves.js';
import { leafHash, MerkleAccumulator } from './merkle.js';
import { type ConsistencyReport, Report, type VerifyResult } from './report.js';
import { findShardedLogs, findSubscribedLogs, findTxIdAhead, txIdsAheadDetail } from './tx-ids-ahead.js';
import { READ_SETTINGS_SQL, verifyChains } from './verify-chains.js';
import { verifyAgainst } from './verify-checkpoint.js';
import { checkInstallation } from './verify-installation.js';
import { nodeSnapshots } from './writing-nodes.js';

/** Progress of a verification, for progress bars. */
export interface VerifyProgress {
  phase: 'versions' | 'checkpoint';
  /** Versions (or leaves) done so far in this phase. */
  done: number;
  /** Versions (or leaves) in this phase. */
  total: number;
}

/**
 * Options of `db.verify()`.
 *
 * @example
 * await db.verify({ tables: ['addresses'], against: checkpointJson, publicKey: trustedHex });
 */
export interface VerifyOptions {
  /** Verify only these tables (SQL names); default: every table in the schema history. */
  tables?: readonly string[];
  /**
   * A checkpoint taken earlier (the object, its note or its JSON text): also prove that the log is a
   * consistent extension of it, and name what changed when it is not. Of a row-sharded schema, the
   * checkpoints of its nodes (`db.clusterCheckpoint()`), as a list: each node's tree is checked.
   */
  against?: Checkpoint | string | readonly (Checkpoint | string)[];
  /**
   * The Ed25519 public key the checkpoint must be signed with: raw hex, PEM, KeyObject, or the
   * log's C2SP verifier key (`origin+keyid+base64`).
   */
  publicKey?: string | KeyObject;
  /**
   * Witnesses trusted to cosign the checkpoint (C2SP tlog-cosignature): their verifier keys as
   * `appendlog witness --print-key` prints them, or `{ name, publicKey }`.
   */
  witnesses?: readonly Witness[];
  /** How many of `witnesses` must have cosigned the checkpoint (N of M; default: all of them). */
  witnessQuorum?: number;
  /**
   * Versions per progress report (default 5000); on a PGlite too old to stream a COPY (it then
   * hands the result over whole), also the versions read per page.
   */
  pageSize?: number;
  onProgress?: (progress: VerifyProgress) => void;
}

async function inSnapshot<T>(db: Session, fn: (tx: Session) => Promise<T>): Promise<T> {
  return db.snapshot(async (tx) => {
    for (const sql of READ_SETTINGS_SQL) await tx.run(sql);
    return fn(tx);
  });
}

async function countVersions(tx: Session, tables: readonly string[]): Promise<number> {
  let total = 0;
  for (const t of tables) {
    const [row] = await tx.run<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${tableObjects(tx.schema, t).log}`,
    );
    total += Number(row!.n);
  }
  return total;
}

/**
 * Verifies the whole schema (or some tables) in one snapshot. See `Database.verify`.
 */
export async function verifyDatabase(db: Session, options: VerifyOptions = {}): Promise<VerifyResult> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('verify options must be an object', 'options');
  const many = Array.isArray(options.against);
  const against: Checkpoint[] =
    options.against === undefined
      ? []
      : (many
          ? (options.against as readonly (Checkpoint | string)[])
          : [options.against as Checkpoint | string]
        ).map((cp) => parseCheckpoint(cp));
  const witnesses = options.witnesses ?? [];
  // Bad witness keys or quorum are refused before anything is read.
  if (witnesses.length > 0)
    for (const cp of against) checkCosignatures(cp, witnesses, options.witnessQuorum ?? witnesses.length);
  return inSnapshot(db, async (tx) => {
    // A node's horizon is read before its versions are, so every transaction below it is in this snapshot.
    const nodeHorizons =
      tx.citus && against.some((cp) => cp.node !== undefined)
        ? new Map([...(await nodeSnapshots(tx, 'verify')).entries()].map(([g, snap]) => [g, snap.xmin]))
        : undefined;
    const report = new Report();
    const all = await recordedTables(tx);
    if (options.tables !== undefined) {
      const known = new Set(all.map((t) => t.table));
      for (const t of options.tables) {
        if (!known.has(t))
          throw new InvalidInputError(`no table "${t}" in the schema history of "${tx.schema}"`, 'tables');
      }
    }
    const chosen = options.tables === undefined ? all : all.filter((t) => options.tables!.includes(t.table));
    const present = new Set(
      await existingLogs(
        tx,
        chosen.map((t) => t.table),
      ),
    );
    // The data still verifies; what goes wrong is later writes' order, which changes and checkpoint refuse.
    // A logical replication subscriber's logs hold the publisher's transaction ids, ahead or not.
    // A row-sharded log holds the transaction ids of every worker, none of them this node's.
    const othersIds = new Set((await findSubscribedLogs(tx, [...present])).map((l) => l.table));
    for (const t of await findShardedLogs(tx, [...present])) othersIds.add(t);
    const ahead = await findTxIdAhead(
      tx,
      [...present].filter((t) => !othersIds.has(t)),
    );
    if (ahead !== null) report.warn(ahead.table, 'tx_ids_ahead', txIdsAheadDetail(tx, ahead));
    const total = options.onProgress ? await countVersions(tx, [...present]) : 0;
    let before = 0;
    for (const t of chosen) {
      await verifyTable(tx, t, report, undefined, options, (rows) =>
        options.onProgress?.({ phase: 'versions', done: before + rows, total }),
      );
      before = report.checked;
    }
    const tables = await existingLogs(
      tx,
      all.map((t) => t.table),
    );
    if (options.tables === undefined) await checkArchiveBoundary(tx, tables, report);
    if (against.length === 0) return report.result();
    const consistencies: ConsistencyReport[] = [];
    for (const cp of against) {
      consistencies.push(
        await verifyAgainst(tx, cp, tables, report, {
          ...(options.publicKey === undefined ? {} : { publicKey: options.publicKey }),
          witnesses,
          ...(options.witnessQuorum === undefined ? {} : { witnessQuorum: options.witnessQuorum }),
          ...(nodeHorizons === undefined ? {} : { nodeHorizons }),
          onProgress: (done, n) => options.onProgress?.({ phase: 'checkpoint', done, total: n }),
        }),
      );
    }
    return report.result(many ? consistencies : consistencies[0]);
  });
}

/**
 * After an archive (docs/spec.md §7.8): the versions kept in the logs below its horizon must each
 * be the version its checkpoint's leaf index holds, and that index must still hash to the
 * checkpoint's root. Both lists are in tree order, so one pass over each, in flat memory.
 */
async function checkArchiveBoundary(tx: Session, tables: readonly string[], report: Report): Promise<void> {
  const archive = await latestArchive(tx);
  if (archive === null) return;
  const acc = new MerkleAccumulator();
  const index = await storedLeafReader(tx, archive.treeSize, (data) => acc.pushLeafHash(leafHash(data)));
  const cursor =
    tables.length === 0
      ? null
      : await CursorReader.open<{ t: string; e: string; v: string; h: string }>(
          tx,
          orderedLeavesSql(tx, tables),
          [archive.horizon],
          5000,
        );
  for (;;) {
    const rows = cursor === null ? [] : await cursor.page();
    if (rows.length === 0) break;
    for (const r of rows) {
      const kept: NamedLeaf = { table: r.t, entryId: r.e, version: Number(r.v), hash: r.h };
      let leaf = await index.next();
      while (leaf !== null && leafKey(leaf) !== leafKey(kept)) leaf = await index.next();
      if (leaf === null || leaf.hash !== kept.hash) {
        report.fail(
          kept.table,
          kept.entryId,
          kept.version,
          'archive_boundary',
          leaf === null
            ? `version ${kept.version} is below archive ${archive.id}'s horizon ${archive.horizon} but not a version its checkpoint ${archive.checkpointId} holds (or not in their order)`
            : `version ${kept.version}, kept at archive ${archive.id}'s boundary, differs from the one its checkpoint ${archive.checkpointId} holds`,
        );
      }
    }
  }
  await cursor?.close();
  while ((await index.next()) !== null) {}
  if (acc.size !== archive.treeSize || toHex(acc.root()) !== archive.root) {
    report.fail(
      null,
      null,
      null,
      'archive_boundary',
      `the leaf index below archive ${archive.id}'s horizon holds ${acc.size} leaves hashing to ${toHex(acc.root())}, not checkpoint ${archive.checkpointId}'s ${archive.treeSize} and root ${archive.root}: the versions that left the logs can no longer be vouched for`,
    );
  }
}

async function verifyTable(
  tx: Session,
  t: RecordedTable,
  report: Report,
  entryId: string | undefined,
  options: Pick<VerifyOptions, 'pageSize'>,
  onRows?: (rows: number) => void,
): Promise<void> {
  const readable = await checkStoredColumns(tx, t, report);
  if (readable === null) return;
  if (entryId === undefined) await checkInstallation(tx, t, report);
  // Without every recorded column, content hashes cannot be recomputed; the rest still can.
  const contentReadable = readable.length === t.columns.length;
  await verifyChains(tx, t, readable, contentReadable, report, {
    ...(entryId === undefined ? {} : { entryId }),
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    ...(onRows === undefined ? {} : { onRows }),
  });
}

/**
 * Verifies one table, or one entry of it. See `Table.verify`.
 */
export async function verifyOneTable(db: Session, table: string, entryId?: string): Promise<VerifyResult> {
  return inSnapshot(db, async (tx) => {
    const report = new Report();
    const [t] = await recordedTables(tx, [table]);
    if (t === undefined) {
      report.fail(
        table,
        null,
        null,
        'table_missing',
        `table ${table} is not in the schema history of "${tx.schema}"`,
      );
      return report.result();
    }
    await verifyTable(tx, t, report, entryId, {});
    return report.result();
  });
}
