import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IntegrityError, InvalidInputError, InvalidStateError } from '../errors.js';
import { recordedTables } from '../integrity/catalog.js';
import { isRowSharded } from '../integrity/checkpoint.js';
import type { Checkpoint } from '../integrity/checkpoint-format.js';
import { checkpointNote } from '../integrity/checkpoint-note.js';
import { parseCheckpoint } from '../integrity/checkpoint-parse.js';
import { toHex } from '../integrity/hex.js';
import { existingLogs, hasCheckpointCatalog, storedCheckpoint, streamLeaves } from '../integrity/leaves.js';
import { MerkleAccumulator } from '../integrity/merkle.js';
import type { Session } from '../session.js';
import { type TileFile, TileTree } from './tiles.js';

/** Options of `exportTiles`. */
export interface ExportTilesOptions {
  /**
   * The checkpoint to publish: a note (with witnesses' cosignatures, say) or a checkpoint object.
   * Default: the schema's latest, as `db.checkpoint()` stored it.
   */
  checkpoint?: Checkpoint | string;
  /**
   * Of a row-sharded schema, whose every writing node has a tree of its own (docs/spec.md §7.7):
   * the node group whose latest checkpoint to publish, when `checkpoint` is not given.
   */
  node?: number;
  /** Called after each page of leaves with the count so far. */
  onProgress?: (leaves: number) => void;
}

/** What `exportTiles` wrote. */
export interface ExportTilesResult {
  checkpointId: number;
  origin: string;
  treeSize: number;
  /** The tree's root, hex. */
  root: string;
  /** Whether the published checkpoint carries the log's signature (C2SP requires one of a public log). */
  signed: boolean;
  /** Tiles and entry bundles written, the checkpoint file not counted. */
  written: number;
  /** Tiles and entry bundles already in the directory with the same bytes, left alone. */
  unchanged: number;
}

/** The checkpoint the directory serves now, if any. */
async function servedCheckpoint(dir: string): Promise<Checkpoint | null> {
  const text = await readFile(join(dir, 'checkpoint'), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  return text === null ? null : parseCheckpoint(text);
}

async function existing(path: string): Promise<Buffer | null> {
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
}

/** The checkpoint to publish: the one given, else the latest of the schema's tree (or of `node`'s). */
async function chosenCheckpoint(
  tx: Session,
  given: Checkpoint | undefined,
  node: number | undefined,
): Promise<Checkpoint> {
  let cp = given;
  if (cp === undefined) {
    if (node === undefined && (await isRowSharded(tx))) {
      throw new InvalidInputError(
        'this schema is row-sharded: each writing node has a tree of its own, so name the node whose tree to publish (node, or --node)',
        'node',
      );
    }
    const stored = (await hasCheckpointCatalog(tx, node))
      ? await storedCheckpoint(tx, undefined, node)
      : null;
    if (stored === null)
      throw new InvalidStateError(
        `${node === undefined ? 'this schema' : `node group ${node}`} has no checkpoint yet: take one first (appendlog checkpoint)`,
      );
    cp = parseCheckpoint(stored.body);
  }
  if (cp.origin === undefined)
    throw new InvalidInputError(
      'a checkpoint of the earlier JSON format has no origin and cannot be served as tiles: take a new checkpoint',
      'checkpoint',
    );
  if (cp.schema !== tx.schema)
    throw new InvalidInputError(
      `the checkpoint is of schema "${cp.schema}", not "${tx.schema}"`,
      'checkpoint',
    );
  return cp;
}

/**
 * Publishes a checkpoint's Merkle tree as C2SP tlog-tiles (docs/integrity.md): `tile/<L>/<N>`
 * hash tiles, `tile/entries/<N>` bundles of leaf data (docs/spec.md §6.1) and the `checkpoint`
 * note, so that any tlog-tiles client can fetch inclusion and consistency proofs from a plain file
 * server. Incremental: files already there with the same bytes are left alone, so a re-export
 * writes the new tiles, the new partial ones and the checkpoint. Nothing is moved into `dir`
 * before the log's leaves below the checkpoint's horizon are shown to hash to its root (and to
 * the root of the checkpoint `dir` served before, which must be of the same log and no larger);
 * a tile already in `dir` with other bytes is an IntegrityError.
 *
 * @example
 * await db.checkpoint({ signKey });
 * const r = await exportTiles(db, '/srv/log'); // serve /srv/log as https://example.com/log/
 */
export async function exportTiles(
  db: Session,
  dir: string,
  options: ExportTilesOptions = {},
): Promise<ExportTilesResult> {
  if (typeof dir !== 'string' || dir === '')
    throw new InvalidInputError('exportTiles() needs a directory', 'dir');
  const given = options.checkpoint === undefined ? undefined : parseCheckpoint(options.checkpoint);
  await mkdir(dir, { recursive: true });
  const served = await servedCheckpoint(dir);
  const staging = await mkdtemp(join(dir, '.appendlog-tiles-'));
  const staged: string[] = [];
  let unchanged = 0;
  const stage = async (files: TileFile[]) => {
    for (const f of files) {
      const before = await existing(join(dir, f.path));
      if (before?.equals(f.bytes)) {
        unchanged += 1;
      } else if (before !== null) {
        throw new IntegrityError(
          `${f.path} in ${dir} differs from this log's: the directory serves another log, or this log's history changed since it was exported`,
        );
      } else {
        await mkdir(dirname(join(staging, f.path)), { recursive: true });
        await writeFile(join(staging, f.path), f.bytes);
        staged.push(f.path);
      }
    }
  };
  try {
    const cp = await db.snapshot(async (tx) => {
      const cp = await chosenCheckpoint(tx, given, options.node);
      if (served !== null && served.origin !== cp.origin)
        throw new InvalidInputError(`${dir} serves the log "${served.origin}", not "${cp.origin}"`, 'dir');
      if (served !== null && served.treeSize > cp.treeSize)
        throw new InvalidStateError(
          `${dir} serves a checkpoint of ${served.treeSize} versions; publishing one of ${cp.treeSize} would move it back`,
        );
      const tables =
        cp.tables ??
        (await existingLogs(
          tx,
          (await recordedTables(tx)).map((t) => t.table),
        ));
      const out: TileFile[] = [];
      const tiles = new TileTree((f) => out.push(f));
      const acc = new MerkleAccumulator();
      let servedRoot: string | null = served?.treeSize === 0 ? toHex(acc.root()) : null;
      await streamLeaves(
        tx,
        tables,
        cp.horizon,
        async (leaves) => {
          for (const leaf of leaves) {
            tiles.push(leaf.data);
            acc.pushLeafHash(leaf.leafHash);
            if (acc.size === served?.treeSize) servedRoot = toHex(acc.root());
          }
          await stage(out.splice(0));
          options.onProgress?.(acc.size);
        },
        { node: cp.node },
      );
      tiles.finish();
      await stage(out.splice(0));
      if (acc.size !== cp.treeSize || toHex(acc.root()) !== cp.root)
        throw new IntegrityError(
          `the log below checkpoint ${cp.id}'s horizon holds ${acc.size} versions hashing to ${toHex(acc.root())}, not its ${cp.treeSize} versions and root ${cp.root}: run verify against it`,
        );
      if (served !== null && servedRoot !== served.root)
        throw new IntegrityError(
          `the checkpoint ${dir} served (${served.treeSize} versions, root ${served.root}) is not a prefix of this log's tree: a fork`,
        );
      return cp;
    });
    // Tiles first, the checkpoint last: a client never reads a checkpoint whose tiles are missing.
    for (const path of staged) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await rename(join(staging, path), join(dir, path));
    }
    await writeFile(join(staging, 'checkpoint'), checkpointNote(cp));
    await rename(join(staging, 'checkpoint'), join(dir, 'checkpoint'));
    return {
      checkpointId: cp.id,
      origin: cp.origin!,
      treeSize: cp.treeSize,
      root: cp.root,
      signed: cp.signature !== undefined,
      written: staged.length,
      unchanged,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
