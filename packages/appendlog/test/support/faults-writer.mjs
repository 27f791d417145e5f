// A writer process for test/faults.test.ts, killed with SIGKILL or left to die with the server.
// It imports the built library (run `npm run build` first) and talks to its parent in JSON lines
// on stdout, each written synchronously so that a line printed is a line the parent will read:
//   {"ready":true}                      connected and migrated; waits for "go" on stdin
//   {"begin":"update"}                  a write is about to be sent
//   {"ack":{entryId,version,op,hash}}   that write's promise resolved: acknowledged
//   {"forgotten":{entryId,versions}}    (mode "forget") an entry forgotten, due now
//   {"done":{acks,conflicts}}           finished; exit code 0
//   {"failed":{code,message}}           a write failed for another reason than a lost race; exit code 1
//
// argv[2] is a JSON config: { url, schema, writer, mode: "mixed" | "forget", durationMs?, count? }.
import { writeSync } from 'node:fs';
import { column as c, connect, isAppendLogError, table } from '../../dist/index.js';

// The table faults.test.ts reads as notes_log / notes_head.
const notes = table('notes', { body: c.text(), n: c.integer() });

/** Lost races with another writer: the entry moved on, so re-read it and go on. */
const RACES = new Set(['version_conflict', 'invalid_state', 'not_found']);

const config = JSON.parse(process.argv[2]);
const actor = `writer-${config.writer}`;
const emit = (line) => writeSync(1, `${JSON.stringify(line)}\n`);

const db = await connect({
  url: config.url,
  schema: config.schema,
  pool: { max: 1, application_name: `faults-${actor}` },
});
const book = db.table(notes);

async function main() {
  await db.migrate([notes]);
  emit({ ready: true });
  await go();
  const result = config.mode === 'forget' ? await forgetMany(config.count) : await mixed(config.durationMs);
  emit({ done: result });
}

/** Resolves when the parent writes a line on stdin, so that every child starts at once. */
function go() {
  return new Promise((resolve) => process.stdin.once('data', resolve));
}

async function write(op, send) {
  emit({ begin: op });
  const v = await send();
  emit({ ack: { entryId: v.entryId, version: v.version, op: v.op, hash: v.hash } });
  return v;
}

/** Inserts, updates, deletes and restores (own entries mostly, others' too) until the time is up. */
async function mixed(durationMs) {
  const mine = []; // { entryId, version, deleted }, as this writer last knew them
  let acks = 0;
  let conflicts = 0;
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    if (mine.length < 3 || Math.random() < 0.15) {
      const v = await write('insert', () => book.insert({ body: `${actor} #${acks}`, n: 0 }, { actor }));
      mine.push({ entryId: v.entryId, version: v.version, deleted: false });
      acks++;
      continue;
    }
    const target = Math.random() < 0.3 ? await someoneElses(mine) : pick(mine);
    try {
      const v = await write(...change(target));
      Object.assign(target, { version: v.version, deleted: v.op === 'delete' });
      acks++;
    } catch (err) {
      if (!isAppendLogError(err) || !RACES.has(err.code)) throw err;
      conflicts++;
      Object.assign(target, await reread(target.entryId));
    }
  }
  return { acks, conflicts };
}

/** The next write for an entry in this state, with the version it expects. */
function change({ entryId, version, deleted }) {
  const expectedVersion = version;
  if (deleted) return ['restore', () => book.restore(entryId, { expectedVersion, actor })];
  if (Math.random() < 0.8) {
    const n = Math.floor(Math.random() * 1e6);
    return ['update', () => book.update(entryId, { n }, { expectedVersion, actor })];
  }
  return ['delete', () => book.delete(entryId, { reason: 'fault test', expectedVersion, actor })];
}

/** A recently changed live entry, maybe another writer's: the races between processes. */
async function someoneElses(mine) {
  const recent = await book.list({ orderBy: { field: 'updatedAt', direction: 'desc' }, limit: 20 });
  if (recent.length === 0) return pick(mine);
  const v = pick(recent);
  return { entryId: v.entryId, version: v.version, deleted: false };
}

async function reread(entryId) {
  const [head] = await db.query('SELECT version, deleted FROM notes_head WHERE entry_id = $1', [entryId]);
  return { version: head.version, deleted: head.deleted };
}

const pick = (items) => items[Math.floor(Math.random() * items.length)];

/** Entries with three versions each, then forgotten, due now: work for the purge. */
async function forgetMany(count) {
  // Fifty entries a transaction: one WAL flush for each, rather than three for every entry.
  for (let start = 0; start < count; start += 50) {
    const forgotten = await db.transaction(async (tx) => {
      const t = tx.table(notes);
      const done = [];
      for (let i = start; i < Math.min(start + 50, count); i++) {
        const v1 = await t.insert({ body: `secret ${i}`, n: i }, { actor });
        await t.update(v1.entryId, { body: `secret ${i}, revised` }, { expectedVersion: 1, actor });
        const f = await t.forget(v1.entryId, { reason: 'fault test', after: '0 seconds', actor });
        done.push({ entryId: f.entryId, versions: f.version });
      }
      return done;
    });
    for (const f of forgotten) emit({ forgotten: f });
  }
  return { acks: count, conflicts: 0 };
}

try {
  await main();
  await db.close();
  process.exit(0);
} catch (err) {
  emit({ failed: { code: err?.code ?? null, message: String(err?.message ?? err) } });
  process.exit(1);
}
