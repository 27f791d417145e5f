import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CarWriter } from '@ipld/car/writer';
import type { CID } from 'multiformats/cid';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { canonicalTimestamp, SPEC_VERSION } from '../hash/spec.js';
import { recordedTables } from '../integrity/catalog.js';
import { CursorReader } from '../integrity/cursor.js';
import { READ_SETTINGS_SQL } from '../integrity/verify-chains.js';
import { type VersionFields, versionFieldsOf } from '../model/log-columns.js';
import { checkEntryId } from '../model/values.js';
import { quoteIdent } from '../schema/names.js';
import type { Session } from '../session.js';
import { utcIsoSql } from '../sql/canonical.js';
import { tableObjects } from '../sql/names.js';
import { hexColumnsSql, versionFieldsSql } from '../sql/version-fields.js';
import {
  type ChunkedText,
  type EncodedBlock,
  type EntryPage,
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
  let blocks = 0;
  const chunks = new Set<string>();
  const put = async (b: EncodedBlock): Promise<CID> => {
    // Equal chunks share a CID: each is written once.
    if (b.cid.code === RAW_CODE) {
      if (chunks.has(b.cid.toString())) return b.cid;
      chunks.add(b.cid.toString());
    }
    await writer.put(b);
    blocks += 1;
    return b.cid;
  };
  let versions = 0;
  let root: CID;
  try {
    root = await db.snapshot(async (tx) => {
      for (const sql of READ_SETTINGS_SQL) await tx.run(sql);
      const all = await recordedTables(tx);
      if (options.tables !== undefined) {
        for (const t of options.tables) {
          if (!all.some((a) => a.table === t))
            throw new InvalidInputError(`no table "${t}" in the schema history`, 'tables');
        }
      }
      const chosen =
        options.tables === undefined ? all : all.filter((t) => options.tables!.includes(t.table));
      const [exportedAt] = await tx.run<{ t: string }>(
        `SELECT ${utcIsoSql('pg_catalog.clock_timestamp()')} AS t`,
      );
      const tables: ExportTable[] = [];
      for (const t of chosen) {
        const o = tableObjects(tx.schema, t.table);
        const cols = t.columns.map((c, i) => `, l.${quoteIdent(c.sqlName)}::text AS c${i}`).join('');
        const cursor = await CursorReader.open<VersionRow>(
          tx,
          `SELECT ${versionFieldsSql('l')}, ${hexColumnsSql('l', ['salt', 'content_hash', 'parent_hash', 'hash'])},
                  l.redacted_at IS NOT NULL AS red${cols}
             FROM ${o.log} l ${entryId === undefined ? '' : 'WHERE l.entry_id = $1'}
            ORDER BY l.entry_id, l.version`,
          entryId === undefined ? [] : [entryId],
        );
        let count = 0;
        let entry: string | null = null;
        let parent: CID | null = null;
        let page: Array<[string, CID]> = [];
        let lastPage: CID | null = null;
        const closeEntry = async () => {
          if (entry === null || parent === null) return;
          page.push([entry, parent]);
          if (page.length === PAGE) {
            lastPage = await put(await encodeBlock({ entries: page, prev: lastPage } satisfies EntryPage));
            page = [];
          }
        };
        for (;;) {
          const rows = await cursor.page();
          if (rows.length === 0) break;
          for (const r of rows) {
            if (r.entryId !== entry) {
              await closeEntry();
              entry = r.entryId;
              parent = null;
            }
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
            const block: VersionBlock = {
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
            parent = await put(await encodeVersionBlock(block, put));
            count += 1;
          }
          versions += rows.length;
          options.onProgress?.(versions);
        }
        await closeEntry();
        await cursor.close();
        if (page.length > 0)
          lastPage = await put(await encodeBlock({ entries: page, prev: lastPage } satisfies EntryPage));
        if (entryId !== undefined && count === 0) continue;
        tables.push({
          table: t.table,
          columns: t.columns.map((c) => ({ name: c.sqlName, type: c.type })),
          versions: count,
          entries: lastPage,
        });
      }
      if (entryId !== undefined && tables.length === 0)
        throw new NotFoundError(`no entry ${entryId} in ${chosen.map((t) => t.table).join(', ')}`);
      return put(
        await encodeBlock({
          spec: SPEC_VERSION,
          kind: 'appendlog-export',
          schema: tx.schema,
          exportedAt: exportedAt!.t,
          tables,
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
  return { root: root.toString(), versions, blocks };
}

function bytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
