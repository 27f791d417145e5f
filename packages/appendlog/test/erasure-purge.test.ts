import { afterAll, beforeAll, expect, it } from 'vitest';
import { runPurge } from '../src/erasure/purge.js';
import { canonicalContent, contentHash } from '../src/hash/spec.js';
import { column as c, type Database, table } from '../src/index.js';
import { describeEngines, describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { verifyChain } from './support/verify-chain.js';

const people = table('people', {
  name: c.text().notNull(),
  tel: c.text(),
  email: c.text(),
  born: c.date(),
});
const pins = table('pins', { pin: c.text() });

const logText = async (db: Database, name: string, entryId?: string) =>
  (
    await db.query<{ t: string }>(
      `SELECT l::text AS t FROM ${name}_log l ${entryId ? 'WHERE entry_id = $1' : ''} ORDER BY seq`,
      entryId ? [entryId] : [],
    )
  ).map((r) => r.t);
/** The head's rows as text: it holds a copy of each entry's latest version. */
const headText = async (db: Database, name: string) =>
  (await db.query<{ t: string }>(`SELECT h::text AS t FROM ${name}_head h ORDER BY created_at`)).map(
    (r) => r.t,
  );
/** How many times each of a table's log and head was vacuumed. */
const vacuums = async (db: Database, name: string) =>
  db.query<{ relname: string; n: number }>(
    `SELECT relname, vacuum_count::int AS n FROM pg_stat_user_tables
      WHERE relid IN ($1::regclass, $2::regclass) ORDER BY relname`,
    [`"${db.schema}".${name}_head`, `"${db.schema}".${name}_log`],
  );

describeEngines('erasure: the purge batch', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([people, pins]);
  });
  afterAll(() => t.close());

  it('erases every version of a due entry, keeps its metadata and the chain, and touches nothing else', async () => {
    const book = db.table(people);
    const other = await book.insert({ name: 'Astrid Other', tel: '+47 22 33 44 55' }, { actor: 'alice' });
    await book.update(other.entryId, { email: 'astrid@example.org' });
    const v1 = await book.insert(
      { name: 'Thor Odinson', tel: '+47 99 88 77 66', born: '1970-05-17' },
      { actor: 'alice', meta: { ip: '10.0.0.1' } },
    );
    await book.update(v1.entryId, { email: 'thor@asgard.example' }, { reason: 'new mail', actor: 'bob' });
    await book.delete(v1.entryId, { reason: 'left', actor: 'bob' });
    await book.restore(v1.entryId, { actor: 'carol' });
    await book.forget(v1.entryId, { reason: 'GDPR request #12', after: '0 seconds', actor: 'dpo' });
    const before = await book.history(v1.entryId);
    const otherBefore = await logText(db, 'people', other.entryId);
    const personal = ['Thor Odinson', '+47 99 88 77 66', 'thor@asgard.example', '1970-05-17'];
    expect((await logText(db, 'people', v1.entryId)).join('\n')).toContain('Thor Odinson');

    expect((await headText(db, 'people')).join('\n')).toContain('Thor Odinson');
    const vacuumedBefore = await vacuums(db, 'people');

    const checkpoint = await db.checkpoint();
    const result = await db.purge();
    expect(result.erased).toEqual([
      {
        table: 'people',
        entryId: v1.entryId,
        reason: 'GDPR request #12',
        dueAt: expect.any(Date),
        versions: 5,
      },
    ]);
    expect(result.vacuumed).toEqual(['people']);
    // Both hold the data: the log its versions, the head its copy of the latest. Both lose the old
    // row versions that the purge's UPDATEs left behind.
    expect((await vacuums(db, 'people')).map((v) => [v.relname, v.n])).toEqual(
      vacuumedBefore.map((v) => [v.relname, v.n + 1]),
    );

    // No column of any version holds the personal data: search the rows' full text output.
    const rows = [...(await logText(db, 'people')), ...(await headText(db, 'people'))];
    for (const value of personal) {
      expect(rows.filter((r) => r.includes(value))).toEqual([]);
    }
    const catalog = await db.query<{ t: string }>('SELECT e::text AS t FROM appendlog_erasures e');
    for (const value of personal) expect(catalog.map((r) => r.t).join('\n')).not.toContain(value);

    // History keeps every version and its metadata; the data is gone, redactedAt says when.
    const after = await book.history(v1.entryId);
    expect(after.map((v) => [v.version, v.op, v.actor, v.reason, v.meta, v.hash, v.parentHash])).toEqual(
      before.map((v) => [v.version, v.op, v.actor, v.reason, v.meta, v.hash, v.parentHash]),
    );
    for (const v of after) {
      expect(v.data).toEqual({ name: null, tel: null, email: null, born: null });
      expect(v.redactedAt).toBeInstanceOf(Date);
    }
    const status = await book.erasure(v1.entryId);
    expect(status).toMatchObject({
      state: 'erased',
      reason: 'GDPR request #12',
      versions: 5,
      forgottenBy: 'dpo',
    });
    expect(status?.erasedAt?.getTime()).toBe(after[0]!.redactedAt!.getTime());

    // Every hash still verifies; the erased versions are counted as such: by the library's
    // verifier, by the test's own recomputation, and against a checkpoint taken before the purge.
    expect(await db.verify({ tables: ['people'] })).toEqual({
      ok: true,
      checked: 7,
      erased: 5,
      failures: [],
    });
    expect(await verifyChain(db, people.name)).toEqual({ checked: 7, erased: 5, failures: [] });
    expect(await db.verify({ tables: ['people'], against: checkpoint })).toMatchObject({
      ok: true,
      erased: 5,
      consistency: { ok: true },
    });

    // The other entry is byte for byte what it was.
    expect(await logText(db, 'people', other.entryId)).toEqual(otherBefore);
    expect((await book.get(other.entryId))?.data.tel).toBe('+47 22 33 44 55');
  });

  it('without the salt, no 4-digit PIN hashes to the kept content_hash; with it, exactly one did', async () => {
    const vault = db.table(pins);
    // A leading zero: no number the row also prints (seq, version, tx_id) can equal it as a whole field.
    const v = await vault.insert({ pin: '0427' });
    await vault.forget(v.entryId, { reason: 'account closed', after: '0 seconds' });
    const read = async () =>
      (
        await db.query<{ salt: string | null; content_hash: string }>(
          `SELECT encode(salt, 'hex') AS salt, encode(content_hash, 'hex') AS content_hash
             FROM pins_log WHERE entry_id = $1 AND version = 1`,
          [v.entryId],
        )
      )[0]!;
    const candidates = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));
    const matches = (salt: Buffer, target: string) =>
      candidates.filter(
        (pin) => contentHash(salt, canonicalContent([['pin', pin]])).toString('hex') === target,
      );

    // Searched as a whole field of the rows' text output (as a substring, 4 digits turn up in hashes).
    const field = /(^|[(,])0427([,)]|$)/;
    expect((await logText(db, 'pins', v.entryId)).filter((r) => field.test(r))).toHaveLength(2);
    const stored = await read();
    expect(matches(Buffer.from(stored.salt!, 'hex'), stored.content_hash)).toEqual(['0427']);

    await db.purge();
    const erased = await read();
    expect(erased.salt).toBeNull();
    expect(erased.content_hash).toBe(stored.content_hash);
    expect(matches(Buffer.alloc(0), erased.content_hash)).toEqual([]);
    expect((await logText(db, 'pins', v.entryId)).filter((r) => field.test(r))).toEqual([]);
  });

  it('refuses entries not forgotten or not yet due, whatever `now` the caller claims', async () => {
    const book = db.table(people);
    const live = await book.insert({ name: 'Live Person', tel: '111' });
    const pending = await book.insert({ name: 'Pending Person', tel: '222' });
    await book.forget(pending.entryId, { reason: 'GDPR request #13' }); // due in 30 days
    const farFuture = new Date('2999-01-01T00:00:00Z');

    const preview = await db.purge({ dryRun: true, now: farFuture });
    expect(preview.erased.map((e) => e.entryId)).toContain(pending.entryId);
    const result = await db.purge({ now: farFuture });
    expect(result.erased.map((e) => e.entryId)).not.toContain(pending.entryId);
    expect((await db.purge({ dryRun: true })).erased.map((e) => e.entryId)).not.toContain(pending.entryId);

    await expect(db.query('SELECT people_redact($1)', [live.entryId])).rejects.toMatchObject({
      code: 'invalid_state',
      message: expect.stringContaining('not forgotten'),
    });
    await expect(db.query('SELECT people_redact($1)', [pending.entryId])).rejects.toMatchObject({
      code: 'invalid_state',
      message: expect.stringContaining('not due'),
    });
    await expect(
      db.query(`INSERT INTO appendlog_erasures (table_name, entry_id) VALUES ('people', $1)`, [
        pending.entryId,
      ]),
    ).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(
      db.query('SELECT people_redact($1)', ['00000000-0000-4000-8000-000000000000']),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await logText(db, 'people', pending.entryId)).join('\n')).toContain('Pending Person');
    expect((await book.get(live.entryId))?.data.tel).toBe('111');
    expect(await book.erasure(pending.entryId)).toMatchObject({ state: 'scheduled', erasedAt: null });
  });

  it('is idempotent: a rerun erases nothing and the database function answers 0', async () => {
    const book = db.table(people);
    const v = await book.insert({ name: 'Twice Erased' });
    await book.forget(v.entryId, { reason: 'GDPR request #14', after: '0 seconds' });
    expect((await db.purge()).erased.map((e) => e.entryId)).toEqual([v.entryId]);
    expect(await db.purge()).toMatchObject({ erased: [], scheduled: [], vacuumed: [], more: false });
    expect(await db.query('SELECT people_redact($1) AS n', [v.entryId])).toEqual([{ n: 0 }]);
    const records = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM appendlog_erasures WHERE entry_id = $1',
      [v.entryId],
    );
    expect(records[0]!.n).toBe(1);
  });

  it('limit stops early and says there is more; batches cover the rest on the next run', async () => {
    const book = db.table(people);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = await book.insert({ name: `Limited ${i}` });
      await book.forget(v.entryId, { reason: `batch request ${i}`, after: '0 seconds' });
      ids.push(v.entryId);
    }
    const preview = await db.purge({ dryRun: true, limit: 2 });
    expect(preview).toMatchObject({ dryRun: true, more: true, vacuumed: [] });
    expect(preview.erased).toHaveLength(2);
    const first = await db.purge({ limit: 3, batchSize: 2 });
    expect(first.erased).toHaveLength(3);
    expect(first.more).toBe(true);
    const second = await db.purge({ batchSize: 2 });
    expect(second.erased).toHaveLength(2);
    expect(second.more).toBe(false);
    expect(new Set([...first.erased, ...second.erased].map((e) => e.entryId))).toEqual(new Set(ids));
  });

  it('a connection lost in the middle of a batch leaves whole batches only; a rerun completes the erasure', async () => {
    const book = db.table(people);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = await book.insert({ name: `Crash Victim ${i}`, tel: `555-000${i}` });
      await book.update(v.entryId, { email: `victim${i}@example.org` });
      await book.forget(v.entryId, { reason: `crash request ${i}`, after: '0 seconds' });
      ids.push(v.entryId);
    }
    const pool = engine.name === 'postgres' ? rawPool(1) : undefined;
    try {
      const failed = await runPurge(
        db,
        { batchSize: 2 },
        {
          // Second batch, after its first entry was redacted: kill the connection (PostgreSQL)
          // or fail (PGlite has one connection, so a thrown error stands in for the crash).
          async afterRedact({ tx, batch, index }) {
            if (batch !== 1 || index !== 0) return;
            if (pool) {
              const [me] = await tx.run<{ pid: number }>('SELECT pg_backend_pid() AS pid');
              await pool.query('SELECT pg_terminate_backend($1)', [me!.pid]);
            } else {
              throw new Error('injected failure between two redactions');
            }
          },
        },
      ).catch((e: unknown) => e);
      // PostgreSQL: the FATAL reaches the client during the next statement (57P01) or just before it.
      expect(String((failed as Error).message)).toMatch(
        pool ? /terminating connection|connection error/ : /^injected failure between two redactions$/,
      );
      if (pool) expect(failed).toMatchObject({ code: 'connection' });
    } finally {
      await pool?.end();
    }
    const state = async () =>
      db.query<{ entry_id: string; redacted: number; records: number }>(
        `SELECT l.entry_id::text AS entry_id, count(*) FILTER (WHERE l.redacted_at IS NOT NULL)::int AS redacted,
                (SELECT count(*)::int FROM appendlog_erasures e WHERE e.table_name = 'people' AND e.entry_id = l.entry_id) AS records
           FROM people_log l WHERE l.entry_id = ANY($1::uuid[]) GROUP BY l.entry_id`,
        [ids],
      );
    const mid = await state();
    // The first batch (2 entries) committed whole; the interrupted one left no trace.
    expect(mid.filter((r) => r.records === 1 && r.redacted === 3)).toHaveLength(2);
    expect(mid.filter((r) => r.records === 0 && r.redacted === 0)).toHaveLength(3);

    const rerun = await db.purge({ batchSize: 2 });
    expect(rerun.erased).toHaveLength(3);
    const done = await state();
    expect(done).toHaveLength(5);
    for (const r of done) expect(r).toMatchObject({ records: 1, redacted: 3 });
    const text = (await logText(db, 'people')).join('\n');
    for (let i = 0; i < 5; i++) {
      expect(text).not.toContain(`Crash Victim ${i}`);
      expect(text).not.toContain(`victim${i}@example.org`);
    }
    expect((await verifyChain(db, people.name)).failures).toEqual([]);
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
  });

  it('refuses bad options before writing, and refuses to run inside a transaction', async () => {
    await expect(db.purge({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_input', field: 'limit' });
    await expect(db.purge({ batchSize: 1.5 })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'batchSize',
    });
    await expect(db.purge({ now: new Date('nope') })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'now',
    });
    await expect(db.purge({ vacuum: 'yes' as never })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(db.transaction((tx) => tx.purge())).rejects.toMatchObject({ code: 'invalid_usage' });
  });
});

describePostgres('erasure: what a purge cannot reach', () => {
  let t: TestDb;

  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([pins]);
  });
  afterAll(() => t.close());

  it('a transaction older than the purge still reads the old values until it ends', async () => {
    const vault = t.db.table(pins);
    const v = await vault.insert({ pin: '9090' });
    await vault.forget(v.entryId, { reason: 'account closed', after: '0 seconds' });
    const pool = rawPool(1);
    const old = await pool.connect();
    // The log's versions, then the head's copy of the latest.
    const read = async () =>
      (
        await old.query(
          `SELECT pin FROM (SELECT pin, seq FROM "${t.schema}".pins_log WHERE entry_id = $1
                            UNION ALL SELECT pin, NULL FROM "${t.schema}".pins_head WHERE entry_id = $1) x
            ORDER BY seq NULLS LAST`,
          [v.entryId],
        )
      ).rows.map((r) => r.pin);
    try {
      // A snapshot taken before the purge: VACUUM must keep the row versions it can see.
      await old.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      expect(await read()).toEqual(['9090', '9090', '9090']);
      const result = await t.db.purge();
      expect(result).toMatchObject({ erased: [{ entryId: v.entryId }], vacuumed: ['pins'] });
      expect(await read()).toEqual(['9090', '9090', '9090']);
      await old.query('COMMIT');
      expect(await read()).toEqual([null, null, null]);
    } finally {
      old.release();
      await pool.end();
    }
  });
});

/** A table whose recycle bin is emptied at every purge, for the purges that run at once. */
const notes = table('notes', { body: c.text() }, { retention: { deletedFor: '0 days' } });

/** `n` notes forgotten and due at once, then `deleted` notes in the recycle bin; their ids. */
async function dueNotes(
  db: Database,
  n: number,
  deleted = 0,
): Promise<{ forgotten: string[]; binned: string[] }> {
  const book = db.table(notes);
  const forgotten: string[] = [];
  const binned: string[] = [];
  for (let i = 0; i < n + deleted; i++) {
    const v = await book.insert({ body: `note ${i}` });
    if (i < n) {
      await book.forget(v.entryId, { reason: `request ${i}`, after: '0 seconds' });
      forgotten.push(v.entryId);
    } else {
      await book.delete(v.entryId, { reason: 'spam' });
      binned.push(v.entryId);
    }
  }
  return { forgotten, binned };
}

describePostgres('erasure: a purge that meets an entry another transaction holds', () => {
  let t: TestDb;

  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([notes]);
  });
  afterAll(() => t.close());

  it('skips it (SKIP LOCKED) and says more: true until a run has erased it', async () => {
    const { forgotten: ids, binned } = await dueNotes(t.db, 5, 1);
    const pool = rawPool(1);
    const holder = await pool.connect();
    try {
      // What the open batch of a second purge does: hold the head rows of a due entry and of a
      // deleted one past its retention.
      await holder.query('BEGIN');
      await holder.query(
        `SELECT 1 FROM "${t.schema}".notes_head WHERE entry_id = ANY($1::uuid[]) FOR UPDATE`,
        [[ids[0], binned[0]]],
      );
      const first = await t.db.purge({ batchSize: 2 });
      expect(first.erased.map((e) => e.entryId).sort()).toEqual(ids.slice(1).sort());
      expect(first.scheduled).toEqual([]);
      expect(first.more).toBe(true);
      // Nothing left that this run can take, but the held entries are still due.
      const second = await t.db.purge({ batchSize: 2, limit: 10 });
      expect(second).toMatchObject({ erased: [], scheduled: [], more: true });
      await holder.query('COMMIT');
    } finally {
      holder.release();
      await pool.end();
    }
    const third = await t.db.purge({ batchSize: 2 });
    expect(third.scheduled.map((e) => e.entryId)).toEqual(binned);
    expect(third.erased.map((e) => e.entryId).sort()).toEqual([ids[0], binned[0]].sort());
    expect(third.more).toBe(false);
    expect(await t.db.verify()).toEqual({ ok: true, checked: 13, erased: 13, failures: [] });
  });
});

describeEngines('erasure: two purges at once', (engine) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await engine.open();
    await t.db.migrate([notes]);
  });
  afterAll(() => t.close());

  it('erase every due entry exactly once between them (one forget, one record each), and the log verifies', async () => {
    const { forgotten, binned } = await dueNotes(t.db, 30, 10);
    const other = await t.reopen();
    // Each redaction waits a little, so that the two purges' batches overlap.
    const slow = { afterRedact: () => new Promise<void>((done) => setTimeout(done, 5)) };
    const [a, b] = await Promise.all([
      runPurge(t.db, { batchSize: 3 }, slow),
      runPurge(other, { batchSize: 3 }, slow),
    ]);
    const erased = [...a.erased, ...b.erased].map((e) => e.entryId);
    expect(erased).toHaveLength(40);
    expect(new Set(erased)).toEqual(new Set([...forgotten, ...binned]));
    expect([...a.scheduled, ...b.scheduled].map((e) => e.entryId).sort()).toEqual([...binned].sort());
    if (engine.name === 'postgres') {
      // Two connections: both took a share (on PGlite's one connection they take turns).
      expect(a.erased.length).toBeGreaterThan(0);
      expect(b.erased.length).toBeGreaterThan(0);
    }

    const records = await t.db.query<{ entry_id: string; n: number }>(
      `SELECT entry_id::text AS entry_id, count(*)::int AS n FROM appendlog_erasures
        WHERE table_name = 'notes' GROUP BY entry_id`,
    );
    expect(records).toHaveLength(40);
    expect(records.filter((r) => r.n !== 1)).toEqual([]);
    const forgets = await t.db.query<{ entry_id: string; n: number }>(
      `SELECT entry_id::text AS entry_id, count(*)::int AS n FROM notes_log WHERE op = 'forget' GROUP BY entry_id`,
    );
    expect(forgets).toHaveLength(40);
    expect(forgets.filter((r) => r.n !== 1)).toEqual([]);
    const [left] = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notes_log WHERE redacted_at IS NULL',
    );
    expect(left!.n).toBe(0);

    expect(await t.db.purge()).toMatchObject({ erased: [], scheduled: [], more: false });
    expect(await t.db.verify()).toEqual({ ok: true, checked: 90, erased: 90, failures: [] });
  });
});
