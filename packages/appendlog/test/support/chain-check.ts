import { canonicalContent, canonicalText, contentHash, versionHash } from '../../src/hash/spec.js';
import type { Database, TableDef } from '../../src/index.js';

/** What {@link checkChains} found. */
export interface ChainReport {
  checked: number;
  /** Versions with `redacted_at` set: content not recomputable, version hash and links still checked. */
  erased: number;
  failures: string[];
}

const hex = (s: string | null) => (s === null ? null : Buffer.from(s, 'hex'));

/**
 * Recomputes every hash of a table's log in TypeScript (docs/spec.md, via src/hash/spec.ts) from
 * the columns' text output under TimeZone UTC and DateStyle ISO: content hashes of unredacted
 * versions, every version hash, and every parent link. A test-side verifier, independent of
 * the SQL that wrote the hashes.
 */
export async function checkChains(db: Database, def: TableDef): Promise<ChainReport> {
  const cols = def.columns.map((c) => `l."${c.sqlName}"::text AS "${c.sqlName}"`).join(', ');
  const rows = await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    await tx.query(`SET LOCAL DateStyle = 'ISO'`);
    return tx.query<Record<string, string | null>>(
      `SELECT l.entry_id::text AS entry_id, l.version::text AS version, l.op, l.recorded_at::text AS recorded_at,
              l.tx_id::text AS tx_id, l.actor, l.reason, l.meta::text AS meta,
              encode(l.salt, 'hex') AS salt, encode(l.content_hash, 'hex') AS content_hash,
              encode(l.parent_hash, 'hex') AS parent_hash, encode(l.hash, 'hex') AS hash,
              l.redacted_at::text AS redacted_at, ${cols}
         FROM "${def.name}_log" l ORDER BY l.entry_id, l.version`,
    );
  });
  const report: ChainReport = { checked: 0, erased: 0, failures: [] };
  let previous: Record<string, string | null> | undefined;
  for (const r of rows) {
    const where = `${r.entry_id} v${r.version}`;
    const sameEntry = previous?.entry_id === r.entry_id;
    const expectedParent = sameEntry ? previous!.hash : null;
    if (r.parent_hash !== expectedParent) report.failures.push(`${where}: parent link broken`);
    if (Number(r.version) !== (sameEntry ? Number(previous!.version) + 1 : 1)) {
      report.failures.push(`${where}: version gap`);
    }
    if (r.redacted_at !== null) {
      report.erased++;
      const leftovers = def.columns.filter((c) => r[c.sqlName] !== null).map((c) => c.sqlName);
      if (r.salt !== null || leftovers.length > 0)
        report.failures.push(`${where}: redacted but content kept`);
    } else {
      const content = canonicalContent(
        def.columns.map((c) => [
          c.sqlName,
          r[c.sqlName] === null ? null : canonicalText(c.type, r[c.sqlName]!),
        ]),
      );
      if (contentHash(hex(r.salt ?? null)!, content).toString('hex') !== r.content_hash) {
        report.failures.push(`${where}: content hash mismatch`);
      }
    }
    const hash = versionHash({
      table: def.name,
      entryId: r.entry_id!,
      version: Number(r.version),
      op: r.op!,
      recordedAt: canonicalText('timestamptz', r.recorded_at!),
      txId: r.tx_id!,
      actor: r.actor ?? null,
      reason: r.reason ?? null,
      meta: r.meta ?? null,
      parentHash: hex(r.parent_hash ?? null),
      contentHash: hex(r.content_hash!)!,
    });
    if (hash.toString('hex') !== r.hash) report.failures.push(`${where}: version hash mismatch`);
    report.checked++;
    previous = r;
  }
  return report;
}
