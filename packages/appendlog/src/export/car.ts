import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CarWriter } from '@ipld/car/writer';
import type { CID } from 'multiformats/cid';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../errors.js';
import { canonicalTimestamp, SPEC_VERSION } from '../hash/spec.js';
import { type RecordedTable, recordedTables } from '../integrity/catalog.js';
import { CursorReader } from '../integrity/cursor.js';
import { READ_SETTINGS_SQL } from '../integrity/verify-chains.js';
import { type VersionFields, versionFieldsOf } from '../model/log-columns.js';
import { checkEntryId } from '../model/values.js';
import { quoteIdent } from '../schema/names.js';
import type { Session } from '../session.js';
import { utcIsoSql } from '../sql/canonical.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { hexColumnsSql, versionFieldsSql } from '../sql/version-fields.js';
import {
  type ChunkedText,
  type EncodedBlock,
  type EntryPage,
  type ExportRoot,
  type ExportTable,
  encodeBlock,
  RAW_CODE,
  type VersionBlock,
} from './car-blocks.js';
import { encodeVersionBlock } from './car-chunks.js';

/** Options of `exportCar`. */
export interface ExportCarOptions {
  /** Only these tables (default: every table in the schema history). */
  tables?: readonly string[];
  /** Only this entry's history. */
  entryId?: string;
  /**
   * The versions archive `archive` took out of the logs (`db.archive()`), from its tables, before
   * `db.dropArchive()` drops them: docs/scale-out.md, "Range-partitioned logs and archives".
   */
  archive?: number;
  /** Called after each page of versions with the count so far. */
  onProgress?: (versions: number) => void;
}

/** What an export wrote. */
export interface ExportCarResult {
  /** The CID of the root block (the CAR's only root). */
  root: string;
  versions: number;
  blocks: number;
}

const PAGE = 1000;

/** A row of the export's log query: the hashed fields, the hashes in hex, the redaction mark, then the columns as `c0`, `c1`…. */
type VersionRow = VersionFields & {
  salt: string | null;
  contentHash: string;
  parentHash: string | null;
  hash: string;
  red: boolean | string;
  [column: `c${number}`]: string | null;
};

/**
 * Writes the history as an IPFS-compatible CAR file (docs/spec.md §8): one DAG-CBOR block per
 * version, linked to its parent by CID, entry lists in pages, a root block naming the tables.
 * Streams: memory stays flat however many versions there are.
 *
 * @example
 * const { root } = await exportCar(db, 'history.car', { entryId });
 */
export async function exportCar(
  db: Session,
  file: string,
  options: ExportCarOptions = {},
): Promise<ExportCarResult> {
  if (typeof file !== 'string' || file === '')
    throw new InvalidInputError('exportCar() needs a file name', 'file');
  const entryId = options.entryId === undefined ? undefined : checkEntryId(options.entryId);
  const placeholder = (await encodeBlock({ entries: [], prev: null })).cid;
  const { writer, out } = CarWriter.create([placeholder]);
  const written = pipeline(Readable.from(out), createWriteStream(file));
  const car = new BlockWriter(writer);
  let root: CID;
  try {
    root = await db.snapshot(async (tx) => {
      for (const sql of READ_SETTINGS_SQL) await tx.run(sql);
      const chosen = chosenTables(await recordedTables(tx), options.tables);
      const archive =
        options.archive === undefined
          ? null
          : await archiveSource(
              tx,
              options.archive,
              chosen.map((t) => t.table),
            );
      const [exportedAt] = await tx.run<{ t: string }>(
        `SELECT ${utcIsoSql('pg_catalog.clock_timestamp()')} AS t`,
      );
      const tables: ExportTable[] = [];
      for (const t of chosen) {
        const source = archive === null ? tableObjects(tx.schema, t.table).log : archive.relation(t.table);
        if (source === null) continue;
        const exported = await exportTable(tx, t, source, entryId, car, options.onProgress);
        if (entryId === undefined || exported.versions > 0) tables.push(exported);
      }
      if (entryId !== undefined && tables.length === 0)
        throw new NotFoundError(`no entry ${entryId} in ${chosen.map((t) => t.table).join(', ')}`);
      return car.put(
        await encodeBlock({
          spec: SPEC_VERSION,
          kind: 'appendlog-export',
          schema: tx.schema,
          exportedAt: exportedAt!.t,
          tables,
          ...(archive === null ? {} : { archive: archive.root }),
        }),
      );
    });
  } finally {
    await writer.close();
    await written;
  }
  const fd = await open(file, 'r+');
  try {
    await CarWriter.updateRootsInFile(fd, [root]);
  } finally {
    await fd.close();
  }
  return { root: root.toString(), versions: car.versions, blocks: car.blocks };
}

/** Where archive `id`'s versions are: its record, and each table's archive table while it exists. */
async function archiveSource(
  tx: Session,
  id: number,
  tables: readonly string[],
): Promise<{ root: NonNullable<ExportRoot['archive']>; relation: (table: string) => string | null }> {
  if (!Number.isSafeInteger(id) || id < 1)
    throw new InvalidInputError('archive must be an archive number', 'archive');
  const archives = catalogName(tx.schema, 'appendlog_archives');
  const [exists] = await tx.run<{ ok: boolean }>(`SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok`, [
    archives,
  ]);
  const [row] = exists?.ok
    ? await tx.run<{ horizon: string; cp: string }>(
        `SELECT horizon::text, checkpoint_id::text AS cp FROM ${archives} WHERE id = $1`,
        [id],
      )
    : [];
  if (row === undefined) throw new NotFoundError(`there is no archive ${id}`);
  const present = new Set(
    (
      await tx.run<{ name: string }>(
        `SELECT x AS name FROM pg_catalog.unnest($1::text[]) AS x
          WHERE pg_catalog.to_regclass(pg_catalog.quote_ident($2) || '.' || pg_catalog.quote_ident(x)) IS NOT NULL`,
        [tables.map((t) => `${t}_log_archive_${id}`), tx.schema],
      )
    ).map((r) => r.name),
  );
  if (present.size === 0)
    throw new InvalidStateError(
      `archive ${id}'s tables were dropped (db.dropArchive): there is nothing left to export`,
    );
  return {
    root: { id, horizon: row.horizon, checkpointId: Number(row.cp) },
    relation: (table) => {
      const name = `${table}_log_archive_${id}`;
      return present.has(name) ? `${quoteIdent(tx.schema)}.${quoteIdent(name)}` : null;
    },
  };
}

/** Puts blocks into the CAR, each chunk once (equal chunks share a CID), and counts them. */
class BlockWriter {
  blocks = 0;
  versions = 0;
  readonly #chunks = new Set<string>();

  constructor(readonly writer: { put(block: EncodedBlock): Promise<void> }) {}

  readonly put = async (b: EncodedBlock): Promise<CID> => {
    if (b.cid.code === RAW_CODE) {
      if (this.#chunks.has(b.cid.toString())) return b.cid;
      this.#chunks.add(b.cid.toString());
    }
    await this.writer.put(b);
    this.blocks += 1;
    return b.cid;
  };
}

/** The recorded tables `names` asks for (all when undefined); a name not recorded is refused. */
function chosenTables(all: RecordedTable[], names: readonly string[] | undefined): RecordedTable[] {
  if (names === undefined) return all;
  for (const t of names) {
    if (!all.some((a) => a.table === t))
      throw new InvalidInputError(`no table "${t}" in the schema history`, 'tables');
  }
  return all.filter((t) => names.includes(t.table));
}

/**
 * Writes one table's versions (of one entry, given `entryId`), in entry and version order, each
 * linked to its parent, and its entry list in pages of {@link PAGE}; returns the table's part of
 * the root block.
 */
async function exportTable(
  tx: Session,
  t: RecordedTable,
  log: string,
  entryId: string | undefined,
  car: BlockWriter,
  onProgress: ((versions: number) => void) | undefined,
): Promise<ExportTable> {
  const cols = t.columns.map((c, i) => `, l.${quoteIdent(c.sqlName)}::text AS c${i}`).join('');
  const cursor = await CursorReader.open<VersionRow>(
    tx,
    `SELECT ${versionFieldsSql('l')}, ${hexColumnsSql('l', ['salt', 'content_hash', 'parent_hash', 'hash'], log)},
            l.redacted_at IS NOT NULL AS red${cols}
       FROM ${log} l ${entryId === undefined ? '' : 'WHERE l.entry_id = $1'}
      ORDER BY l.entry_id, l.version`,
    entryId === undefined ? [] : [entryId],
  );
  const entries = new EntryList(car);
  let count = 0;
  let parent: CID | null = null;
  for (;;) {
    const rows = await cursor.page();
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.entryId !== entries.current) {
        await entries.close(parent);
        entries.current = r.entryId;
        parent = null;
      }
      parent = await car.put(await encodeVersionBlock(versionBlock(t, r, parent), car.put));
      count += 1;
    }
    car.versions += rows.length;
    onProgress?.(car.versions);
  }
  await entries.close(parent);
  await cursor.close();
  return {
    table: t.table,
    columns: t.columns.map((c) => ({ name: c.sqlName, type: c.type })),
    versions: count,
    entries: await entries.end(),
  };
}

/** A table's entry list: `[entryId, CID of its latest version]` pairs, in pages linked backwards. */
class EntryList {
  /** The entry whose versions are being written. */
  current: string | null = null;
  #page: Array<[string, CID]> = [];
  #last: CID | null = null;

  constructor(readonly car: BlockWriter) {}

  /** Lists the current entry with its latest version, writing a page when one is full. */
  async close(latest: CID | null): Promise<void> {
    if (this.current === null || latest === null) return;
    this.#page.push([this.current, latest]);
    if (this.#page.length === PAGE) await this.#flush();
  }

  /** Writes the last page; returns the CID of the list's last page (null when empty). */
  async end(): Promise<CID | null> {
    if (this.#page.length > 0) await this.#flush();
    return this.#last;
  }

  async #flush(): Promise<void> {
    this.#last = await this.car.put(
      await encodeBlock({ entries: this.#page, prev: this.#last } satisfies EntryPage),
    );
    this.#page = [];
  }
}

/** One row of the log query as its block, linked to `parent` (null for version 1). */
function versionBlock(t: RecordedTable, r: VersionRow, parent: CID | null): VersionBlock {
  const redacted = String(r.red) === 'true';
  let data: Record<string, string | ChunkedText> | null = null;
  if (!redacted) {
    data = {};
    t.columns.forEach((c, i) => {
      const v = r[`c${i}`];
      if (v !== null && v !== undefined)
        data![c.sqlName] = c.type === 'timestamptz' ? canonicalTimestamp(v) : v;
    });
  }
  return {
    spec: SPEC_VERSION,
    table: t.table,
    ...versionFieldsOf(r),
    version: Number(r.version),
    salt: r.salt === null ? null : bytes(r.salt),
    contentHash: bytes(r.contentHash),
    parentHash: r.parentHash === null ? null : bytes(r.parentHash),
    hash: bytes(r.hash),
    parent,
    data,
    redacted,
  };
}

function bytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
