import type { Session } from '../session.js';
import { CursorReader } from './cursor.js';
import { parseLeaves } from './leaf.js';
import { orderedLeavesSql, type TreeNode, treeCatalog } from './leaves.js';

/** A leaf named by its version, for comparing a checkpoint's leaves with the log's. */
export interface NamedLeaf {
  table: string;
  entryId: string;
  version: number;
  hash: string;
}

/** Pulls leaves one at a time from a page source. */
export class LeafReader {
  readonly #nextPage: () => Promise<NamedLeaf[]>;
  #page: NamedLeaf[] = [];
  #at = 0;
  #done = false;

  constructor(nextPage: () => Promise<NamedLeaf[]>) {
    this.#nextPage = nextPage;
  }

  async next(): Promise<NamedLeaf | null> {
    while (this.#at >= this.#page.length) {
      if (this.#done) return null;
      this.#page = await this.#nextPage();
      this.#at = 0;
      if (this.#page.length === 0) this.#done = true;
    }
    return this.#page[this.#at++]!;
  }
}

/** The log's leaves below `horizon`, in tree order, one at a time. */
export async function logLeafReader(
  tx: Session,
  tables: readonly string[],
  horizon: string,
  node?: TreeNode,
): Promise<LeafReader> {
  if (tables.length === 0) return new LeafReader(async () => []);
  const cursor = await CursorReader.open<{ t: string; e: string; v: string; h: string }>(
    tx,
    orderedLeavesSql(tx, tables, node),
    [horizon],
    5000,
  );
  return new LeafReader(async () =>
    (await cursor.page()).map((r) => ({ table: r.t, entryId: r.e, version: Number(r.v), hash: r.h })),
  );
}

/** The checkpoint leaf index's first `treeSize` leaves, in order, one at a time. */
export async function storedLeafReader(
  tx: Session,
  treeSize: number,
  onData?: (data: Uint8Array) => void,
  node?: TreeNode,
): Promise<LeafReader> {
  const c = treeCatalog(tx.schema, node);
  const cursor = await CursorReader.open<{ leaves: string }>(
    tx,
    `SELECT pg_catalog.encode(leaves, 'hex') AS leaves FROM ${c.leaves}
      WHERE ${c.where} AND first_leaf < $1 ORDER BY first_leaf`,
    [treeSize],
    16,
  );
  let remaining = treeSize;
  return new LeafReader(async () => {
    const out: NamedLeaf[] = [];
    while (out.length === 0 && remaining > 0) {
      const rows = await cursor.page();
      if (rows.length === 0) break;
      for (const r of rows) {
        for (const leaf of parseLeaves(Buffer.from(r.leaves, 'hex'))) {
          if (remaining === 0) break;
          remaining -= 1;
          onData?.(leaf.data);
          out.push({
            table: leaf.table,
            entryId: leaf.entryId,
            version: leaf.version,
            hash: Buffer.from(leaf.hash).toString('hex'),
          });
        }
      }
    }
    return out;
  });
}
