import type { Session } from '../session.js';
import { CursorReader } from './cursor.js';
import { indexLeaves, orderedLeavesSql, type TreeNode, treeSource } from './leaves.js';

/** A leaf named by its version, for comparing a checkpoint's leaves with the log's. */
export interface NamedLeaf {
  table: string;
  entryId: string;
  version: number;
  hash: string;
}

/** A leaf's version as one string, `table NUL entry NUL version`, for matching two lists of leaves. */
export const leafKey = (l: NamedLeaf): string => `${l.table}\u0000${l.entryId}\u0000${l.version}`;

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

/**
 * The tree's leaves below `horizon`, in tree order, one at a time: the leaf index's below the
 * latest archive's horizon (docs/spec.md §7.8), then the logs'.
 */
export async function logLeafReader(
  tx: Session,
  tables: readonly string[],
  horizon: string,
  node?: TreeNode,
): Promise<LeafReader> {
  const { prefix, from } = await treeSource(tx, horizon, node);
  const archived = prefix > 0 ? await storedLeafReader(tx, prefix) : null;
  const cursor =
    tables.length === 0
      ? null
      : await CursorReader.open<{ t: string; e: string; v: string; h: string }>(
          tx,
          orderedLeavesSql(tx, tables, node, from),
          [horizon],
          5000,
        );
  return new LeafReader(async () => {
    if (archived !== null) {
      const leaf = await archived.next();
      if (leaf !== null) return [leaf];
    }
    if (cursor === null) return [];
    return (await cursor.page()).map((r) => ({ table: r.t, entryId: r.e, version: Number(r.v), hash: r.h }));
  });
}

/** The checkpoint leaf index's first `treeSize` leaves (of the schema's tree, or `node`'s), in order, one at a time. */
export async function storedLeafReader(
  tx: Session,
  treeSize: number,
  onData?: (data: Uint8Array) => void,
  node?: TreeNode,
): Promise<LeafReader> {
  const chunks = indexLeaves(tx, treeSize, node);
  return new LeafReader(async () => {
    const next = await chunks.next();
    if (next.done) return [];
    return next.value.map((leaf) => {
      onData?.(leaf.data);
      return {
        table: leaf.table,
        entryId: leaf.entryId,
        version: leaf.version,
        hash: Buffer.from(leaf.hash).toString('hex'),
      };
    });
  });
}
