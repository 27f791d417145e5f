import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import type { Checkpoint } from '../src/integrity/checkpoint-format.js';
import type { VerifyFailure } from '../src/integrity/report.js';
import type { TableDef } from '../src/schema/table.js';
import { canonicalContentSql, versionHashSql } from '../src/sql/canonical.js';
import { tableObjects } from '../src/sql/names.js';
import { describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { headFromLog } from './support/head-from-log.js';
import { waitForHorizon } from './support/horizon.js';
import { addresses, kitchen } from './support/tables.js';

/** Deterministic PRNG (mulberry32), so a failing tampering can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  table: string;
  seq: string;
  entry: string;
  version: number;
  last: number;
  lastOp: string;
  inCheckpoint: boolean;
  entryInCheckpoint: boolean;
}

/** What a tampering touched: failures may name these versions, or (entry-level kinds) any version of these entries. */
interface Touched {
  kind: string;
  versions: Array<{ table: string; entry: string; version: number }>;
  /** Entries whose every version may be named. */
  entries: Array<{ table: string; entry: string }>;
  /** Whole tables (truncate). */
  tables: string[];
}

const SEED = Number(process.env.TAMPER_SEED ?? 20261126);
const TAMPERINGS = 220;
const DEFS: Record<string, TableDef> = { addresses, kitchen };

describePostgres('tamper suite', () => {
  let t: TestDb;
  let db: Database;
  let raw: Database;
  let pool: ReturnType<typeof rawPool>;
  let cp: Checkpoint;
  const rows: Row[] = [];

  beforeAll(async () => {
    t = await postgres.open();
    db = t.db;
    await db.migrate([addresses, kitchen]);
    const rnd = prng(SEED);
    const book = db.table(addresses);
    const k = db.table(kitchen);
    const write = async () => {
      for (let i = 0; i < 30; i++) {
        const v = await book.insert(
          { name: `p${i}`, city: 'Oslo', tel: String(i) },
          { actor: 'alice', meta: { i } },
        );
        const n = Math.floor(rnd() * 5);
        for (let j = 0; j < n; j++) {
          const r = rnd();
          const cur = (await book.history(v.entryId)).at(-1)!;
          if (cur.op === 'delete') await book.restore(v.entryId, { actor: 'bob' });
          else if (r < 0.2) await book.delete(v.entryId, { reason: 'test' });
          else
            await book.update(
              v.entryId,
              { city: `c${j}`, postcode: rnd() < 0.5 ? null : `${j}` },
              { reason: 'edit' },
            );
        }
      }
      for (let i = 0; i < 10; i++) {
        const v = await k.insert({
          label: `k${i}`,
          count: i,
          big: String(i * 1e12),
          price: `${i}.50`,
          active: i % 2 === 0,
          born: '2000-01-01',
          seenAt: new Date(),
          doc: { n: i },
          ref: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
        });
        if (i % 3 === 0) await k.update(v.entryId, { count: i + 1, doc: { n: -i } });
      }
    };
    await write();
    // The horizon is cluster-wide: another database's open transaction can hold it back for a while.
    await waitForHorizon(db, Object.keys(DEFS));
    cp = await db.checkpoint();
    // Versions after the checkpoint: chains must still catch tampering there.
    for (const v of (await book.list({ limit: 8 })).slice(0, 8))
      await book.update(v.entryId, { tel: 'after' });
    await k.insert({ label: 'after checkpoint' });

    pool = rawPool(1);
    raw = await connect({ client: pool, schema: t.schema });
    for (const table of Object.keys(DEFS)) {
      const o = tableObjects(t.schema, table);
      const r = await db.query<{
        seq: string;
        entry: string;
        version: number;
        last: number;
        last_op: string;
        inc: boolean;
        einc: boolean;
      }>(
        `SELECT l.seq::text AS seq, l.entry_id::text AS entry, l.version, h.version AS last, h.op AS last_op,
                l.tx_id < $1::xid8 AS inc,
                (SELECT bool_and(x.tx_id < $1::xid8) FROM ${o.log} x WHERE x.entry_id = l.entry_id) AS einc
           FROM ${o.log} l JOIN ${o.head} h USING (entry_id) ORDER BY l.seq`,
        [cp.horizon],
      );
      rows.push(
        ...r.map((x) => ({
          table,
          seq: x.seq,
          entry: x.entry,
          version: x.version,
          last: x.last,
          lastOp: x.last_op,
          inCheckpoint: x.inc,
          entryInCheckpoint: x.einc,
        })),
      );
    }
  });

  afterAll(async () => {
    await raw?.close();
    await pool?.end();
    await t?.close();
  });

  it('reports nothing on untouched data, with and without the checkpoint', async () => {
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
    const r = await db.verify({ against: cp });
    expect(r.failures).toEqual([]);
    expect(r.consistency?.ok).toBe(true);
  });

  it(`detects and locates ${TAMPERINGS} random tamperings`, async () => {
    const rnd = prng(SEED + 1);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const kinds = Object.keys(TAMPER);
    const seen = new Map<string, number>();
    for (let i = 0; i < TAMPERINGS; i++) {
      const kind = kinds[i % kinds.length]!;
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      let touched: Touched | null = null;
      let failures: VerifyFailure[] = [];
      let consistency: unknown;
      try {
        await raw.transaction(async (tx) => {
          await tx.query('SET LOCAL session_replication_role = replica');
          touched = await TAMPER[kind]!(tx, t.schema, rows, pick, rnd);
          const result = await tx.verify({ against: cp });
          failures = result.failures;
          consistency = result.consistency;
          throw new Rollback();
        });
      } catch (err) {
        if (!(err instanceof Rollback)) throw err;
      }
      if (process.env.TAMPER_DEBUG) console.log(kind, [...new Set(failures.map((f) => f.problem))].join(' '));
      const what = `tampering #${i} (${kind}, seed ${SEED}): ${JSON.stringify(touched)}\nfailures: ${JSON.stringify(failures, null, 1)}\nconsistency: ${JSON.stringify(consistency)}`;
      expect(failures.length, what).toBeGreaterThan(0);
      for (const f of failures) expect(allowed(f, touched!), what).toBe(true);
      expect(
        failures.some((f) => names(f, touched!)),
        what,
      ).toBe(true);
    }
    expect(seen.size).toBe(kinds.length);
    // Everything was rolled back: the data verifies again.
    expect((await db.verify({ against: cp })).ok).toBe(true);
  });

  it('refuses a new checkpoint over rewritten checkpointed history', async () => {
    const r = rows.find((x) => x.inCheckpoint)!;
    const err = await raw
      .transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(`DELETE FROM ${log(t.schema, r.table)} WHERE seq = $1`, [r.seq]);
        await tx.query('SET LOCAL session_replication_role = origin');
        return tx.checkpoint();
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'integrity' });
  });

  it('reports nothing while writers commit during the verification (one snapshot)', async () => {
    const book = db.table(addresses);
    const [target] = await book.list({ limit: 1 });
    let writing = true;
    const writer = (async () => {
      let n = 0;
      while (writing && n < 200) {
        await book.update(target!.entryId, { tel: `w${n++}` });
        if (n % 5 === 0) await book.insert({ name: `new ${n}` });
      }
      return n;
    })();
    try {
      for (let i = 0; i < 3; i++) {
        const r = await db.verify({ against: cp });
        expect(r.failures).toEqual([]);
      }
    } finally {
      writing = false;
    }
    expect(await writer).toBeGreaterThan(0);
  });
});

class Rollback extends Error {}

/** A failure is allowed if it concerns what was touched (or is the checkpoint-level verdict). */
function allowed(f: VerifyFailure, t: Touched): boolean {
  if (f.table === null)
    return f.problem === 'checkpoint_inconsistent' || f.problem === 'checkpoint_truncated';
  if (t.tables.includes(f.table)) return true;
  if (t.entries.some((e) => e.table === f.table && e.entry === f.entryId)) return true;
  return t.versions.some(
    (v) => v.table === f.table && v.entry === f.entryId && (f.version === v.version || f.version === null),
  );
}

/** The failure names a touched version (or entry / table, for the kinds that touch those). */
function names(f: VerifyFailure, t: Touched): boolean {
  if (f.table === null) return false;
  if (t.tables.includes(f.table)) return f.entryId !== null;
  if (t.entries.some((e) => e.table === f.table && e.entry === f.entryId)) return true;
  return t.versions.some((v) => v.table === f.table && v.entry === f.entryId && f.version === v.version);
}

type Tamper = (
  tx: Database,
  schema: string,
  rows: Row[],
  pick: <T>(xs: readonly T[]) => T,
  rnd: () => number,
) => Promise<Touched>;

const one = (kind: string, r: Row): Touched => ({
  kind,
  versions: [{ table: r.table, entry: r.entry, version: r.version }],
  entries: [],
  tables: [],
});
const log = (schema: string, table: string) => tableObjects(schema, table).log;
const head = (schema: string, table: string) => tableObjects(schema, table).head;

const EDITS: Record<string, string[]> = {
  addresses: [
    `name = name || '!'`,
    `city = 'Gotham'`,
    `tel = coalesce(tel, '') || '0'`,
    `address_line_1 = 'Elm Street 13'`,
    `postcode = NULL, city = coalesce(city, '') || '?'`,
  ],
  kitchen: [
    `count = coalesce(count, 0) + 1`,
    `big = coalesce(big, 0) - 1`,
    `price = coalesce(price, 0) + 0.01`,
    `active = NOT coalesce(active, false)`,
    `born = coalesce(born, '2000-01-01') + 1`,
    `seen_at = coalesce(seen_at, now()) + interval '1 microsecond'`,
    `doc = '{"n": 999}'`,
    `ref = gen_random_uuid()`,
    `label = label || ' '`,
  ],
};
const META_EDITS = [
  `actor = coalesce(actor, '') || 'x'`,
  `reason = 'because'`,
  `recorded_at = recorded_at - interval '1 microsecond'`,
  `meta = '{"ip": "6.6.6.6"}'`,
  `tx_id = (tx_id::text::bigint + 1)::text::xid8`,
  `op = CASE op WHEN 'update' THEN 'restore' ELSE 'update' END`,
];
const HASH_EDITS = [
  `hash = pg_catalog.sha256(hash)`,
  `content_hash = pg_catalog.sha256(content_hash)`,
  `parent_hash = pg_catalog.sha256(coalesce(parent_hash, '\\x00'))`,
  `salt = pg_catalog.sha256(salt)`,
];

const TAMPER: Record<string, Tamper> = {
  async edit_value(tx, schema, rows, pick) {
    const r = pick(rows);
    await tx.query(`UPDATE ${log(schema, r.table)} SET ${pick(EDITS[r.table]!)} WHERE seq = $1`, [r.seq]);
    return one('edit_value', r);
  },
  async edit_metadata(tx, schema, rows, pick) {
    const r = pick(rows);
    await tx.query(`UPDATE ${log(schema, r.table)} SET ${pick(META_EDITS)} WHERE seq = $1`, [r.seq]);
    return one('edit_metadata', r);
  },
  async edit_hashes(tx, schema, rows, pick) {
    const r = pick(rows);
    await tx.query(`UPDATE ${log(schema, r.table)} SET ${pick(HASH_EDITS)} WHERE seq = $1`, [r.seq]);
    return one('edit_hashes', r);
  },
  async swap_data(tx, schema, rows, pick, rnd) {
    // Two versions of one entry exchange their content (columns, salt and content hash stay with the data).
    const multi = rows.filter((r) => r.last >= 2 && r.version === 1);
    const r = pick(multi);
    const a = 1 + Math.floor(rnd() * r.last);
    let b = 1 + Math.floor(rnd() * r.last);
    if (b === a) b = a === 1 ? 2 : a - 1;
    const cols = [...DEFS[r.table]!.columns.map((c) => `"${c.sqlName}"`), 'salt', 'content_hash'];
    const l = log(schema, r.table);
    await tx.query(
      `UPDATE ${l} x SET (${cols.join(', ')}) = (SELECT ${cols.map((c) => `y.${c}`).join(', ')} FROM ${l} y WHERE y.entry_id = x.entry_id AND y.version = CASE x.version WHEN $2 THEN $3 ELSE $2 END)
        WHERE x.entry_id = $1 AND x.version IN ($2, $3)`,
      [r.entry, a, b],
    );
    // Identical content in both (an update that changed nothing) would be no tampering at all.
    const [same] = await tx.query<{ same: boolean }>(
      `SELECT count(DISTINCT content_hash) = 1 AS same FROM ${l} WHERE entry_id = $1 AND version IN ($2, $3)`,
      [r.entry, a, b],
    );
    const touched: Touched = {
      kind: 'swap_data',
      versions: [a, b].map((version) => ({ table: r.table, entry: r.entry, version })),
      entries: [],
      tables: [],
    };
    if (same?.same) {
      await tx.query(`UPDATE ${l} SET reason = 'swapped' WHERE entry_id = $1 AND version = $2`, [r.entry, a]);
    }
    return touched;
  },
  async swap_versions(tx, schema, rows, pick, rnd) {
    // Two versions exchange their places in the chain: the chain around them breaks.
    const r = pick(rows.filter((x) => x.last >= 2 && x.version === 1));
    const a = 1 + Math.floor(rnd() * (r.last - 1));
    const b = a + 1 + Math.floor(rnd() * (r.last - a));
    const l = log(schema, r.table);
    await tx.query(`UPDATE ${l} SET version = 1000000 WHERE entry_id = $1 AND version = $2`, [r.entry, a]);
    await tx.query(`UPDATE ${l} SET version = $2 WHERE entry_id = $1 AND version = $3`, [r.entry, a, b]);
    await tx.query(`UPDATE ${l} SET version = $2 WHERE entry_id = $1 AND version = 1000000`, [r.entry, b]);
    return { kind: 'swap_versions', versions: [], entries: [{ table: r.table, entry: r.entry }], tables: [] };
  },
  async delete_version(tx, schema, rows, pick) {
    const r = pick(rows);
    await tx.query(`DELETE FROM ${log(schema, r.table)} WHERE seq = $1`, [r.seq]);
    return one('delete_version', r);
  },
  async delete_entry(tx, schema, rows, pick) {
    const r = pick(rows.filter((x) => x.entryInCheckpoint));
    await tx.query(`DELETE FROM ${log(schema, r.table)} WHERE entry_id = $1`, [r.entry]);
    await tx.query(`DELETE FROM ${head(schema, r.table)} WHERE entry_id = $1`, [r.entry]);
    return { kind: 'delete_entry', versions: [], entries: [{ table: r.table, entry: r.entry }], tables: [] };
  },
  async truncate_table(tx, schema, rows, pick) {
    const table = pick(
      Object.keys(DEFS).filter((name) => rows.some((r) => r.table === name && r.inCheckpoint)),
    );
    await tx.query(`TRUNCATE ${log(schema, table)}, ${head(schema, table)}`);
    return { kind: 'truncate_table', versions: [], entries: [], tables: [table] };
  },
  async edit_head(tx, schema, rows, pick) {
    const r = pick(rows.filter((x) => x.version === x.last));
    const edit = pick([
      `version = version + 1`,
      `deleted = NOT deleted`,
      `recorded_at = recorded_at + interval '1 day'`,
      `created_at = created_at - interval '1 day'`,
      `hash = pg_catalog.sha256(hash)`,
      `op = 'forget'`,
      `seq = seq + 100000`,
      // The head's copy of the latest version: its own columns and its content.
      HASH_EDITS[2]!,
      `redacted_at = now()`,
      ...META_EDITS.filter((e) => !/^(op|recorded_at) /.test(e)),
      ...EDITS[r.table]!,
    ]);
    await tx.query(`UPDATE ${head(schema, r.table)} SET ${edit} WHERE entry_id = $1`, [r.entry]);
    // The head's created_at mirrors version 1, the rest the latest version.
    const versions = [1, r.last, r.last + 1].map((version) => ({ table: r.table, entry: r.entry, version }));
    return { kind: 'edit_head', versions, entries: [], tables: [] };
  },
  async rewrite_chain(tx, schema, rows, pick, rnd) {
    // A superuser rewrites one entry's history and recomputes every hash after it: the chains
    // verify, only the checkpoint can tell.
    const r = pick(rows.filter((x) => x.entryInCheckpoint));
    const def = DEFS[r.table]!;
    const l = log(schema, r.table);
    const from = 1 + Math.floor(rnd() * r.last);
    const edit = r.table === 'addresses' ? `city = 'Rewritten'` : `label = 'rewritten'`;
    await tx.query(`UPDATE ${l} SET ${edit} WHERE entry_id = $1 AND version = $2`, [r.entry, from]);
    await tx.query(
      `UPDATE ${l} x SET content_hash = pg_catalog.sha256(x.salt || ${canonicalContentSql(schema, 'x', def.columns)}) WHERE x.entry_id = $1 AND x.version = $2`,
      [r.entry, from],
    );
    for (let v = from; v <= r.last; v++) {
      await tx.query(
        `UPDATE ${l} x SET parent_hash = (SELECT p.hash FROM ${l} p WHERE p.entry_id = x.entry_id AND p.version = x.version - 1) WHERE x.entry_id = $1 AND x.version = $2`,
        [r.entry, v],
      );
      await tx.query(
        `UPDATE ${l} x SET hash = ${versionHashSql(schema, r.table, 'x')} WHERE x.entry_id = $1 AND x.version = $2`,
        [r.entry, v],
      );
    }
    await headFromLog(tx, schema, r.table, DEFS[r.table]!.columns, r.entry);
    const check = await tx.verify({ tables: [r.table] });
    if (!check.ok) throw new Error(`the rewrite should be consistent: ${JSON.stringify(check.failures)}`);
    const versions = [];
    for (let v = from; v <= r.last; v++) versions.push({ table: r.table, entry: r.entry, version: v });
    return { kind: 'rewrite_chain', versions, entries: [], tables: [] };
  },
  async forge_version(tx, schema, rows, pick) {
    // A consistent extra version, dated into checkpointed history (an old transaction id).
    const r = pick(
      rows.filter(
        (x) =>
          x.version === x.last && x.entryInCheckpoint && ['insert', 'update', 'restore'].includes(x.lastOp),
      ),
    );
    const cols = DEFS[r.table]!.columns.map((c) => `"${c.sqlName}"`).join(', ');
    const l = log(schema, r.table);
    await tx.query(
      `INSERT INTO ${l} (entry_id, version, op, recorded_at, tx_id, actor, salt, content_hash, parent_hash, hash, ${cols})
       SELECT entry_id, version + 1, 'update', recorded_at + interval '1 microsecond', tx_id, 'mallory', salt, content_hash, hash, hash, ${cols}
         FROM ${l} WHERE entry_id = $1 AND version = $2`,
      [r.entry, r.last],
    );
    await tx.query(
      `UPDATE ${l} x SET hash = ${versionHashSql(schema, r.table, 'x')} WHERE x.entry_id = $1 AND x.version = $2`,
      [r.entry, r.last + 1],
    );
    await headFromLog(tx, schema, r.table, DEFS[r.table]!.columns, r.entry, r.last + 1);
    const check = await tx.verify({ tables: [r.table] });
    if (!check.ok) throw new Error(`the forgery should be consistent: ${JSON.stringify(check.failures)}`);
    return {
      kind: 'forge_version',
      versions: [{ table: r.table, entry: r.entry, version: r.last + 1 }],
      entries: [],
      tables: [],
    };
  },
};
