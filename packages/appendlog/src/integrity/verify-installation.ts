import { readCodeRevisions } from '../migrate/introspect.js';
import { quoteIdent } from '../schema/names.js';
import type { Session } from '../session.js';
import { catalogName } from '../sql/names.js';
import { codeDdl, TABLE_CODE_REVISION } from '../sql/table-ddl.js';
import type { RecordedTable } from './catalog.js';
import type { Report } from './report.js';
import { findShardedLogs } from './tx-ids-ahead.js';

/**
 * The triggers that enforce the log, per relation suffix: the chain trigger on the head (the only
 * writer of versions) and the refusals of what is never allowed. A disabled or missing one means
 * the owner (or a superuser) switched the enforcement off: the versions may still verify, but
 * nothing stopped a rewrite while it was off.
 */
const ENFORCING_TRIGGERS: ReadonlyArray<readonly [suffix: '_log' | '_head', name: string]> = [
  ['_head', 'appendlog_chain'],
  ['_head', 'appendlog_head_refuse_delete'],
  ['_head', 'appendlog_head_refuse_truncate'],
  ['_log', 'appendlog_refuse_insert'],
  ['_log', 'appendlog_refuse_change'],
  ['_log', 'appendlog_refuse_delete'],
  ['_log', 'appendlog_refuse_truncate'],
];

/**
 * Checks what the owner of a table could change without touching a single version: that its
 * enforcing triggers are there and enabled, that its generated functions are exactly the code this
 * library generates for the recorded columns, and that no erasure ran before its due time.
 */
export async function checkInstallation(tx: Session, t: RecordedTable, report: Report): Promise<void> {
  const revision = (await readCodeRevisions(tx, tx.schema, [t.table])).get(t.table);
  if (revision === undefined) return; // no code at all: table_missing is reported by the column check
  if (revision !== TABLE_CODE_REVISION) {
    report.fail(
      t.table,
      null,
      null,
      'code_revision',
      `the table's code is revision ${revision}, this appendlog's is ${TABLE_CODE_REVISION}: run migrate to bring it up to date`,
    );
  } else {
    await checkTriggers(tx, t.table, report);
    await checkPartitionTriggers(tx, t.table, report);
    await checkCode(tx, t, report);
  }
  await checkErasureTimes(tx, t.table, report);
}

/**
 * The triggers each partition of a range-partitioned log carries (docs/scale-out.md): a statement
 * naming a partition fires only the partition's own statement triggers, and the row trigger is
 * the log's, cloned.
 */
const PARTITION_TRIGGERS = [
  'appendlog_refuse_insert',
  'appendlog_refuse_change',
  'appendlog_refuse_delete',
  'appendlog_refuse_truncate',
];

async function checkPartitionTriggers(tx: Session, table: string, report: Report): Promise<void> {
  const rows = await tx.run<{ rel: string; name: string | null; enabled: string | null }>(
    `SELECT c.relname AS rel, g.tgname AS name, g.tgenabled::text AS enabled
       FROM pg_catalog.pg_inherits i
       JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
       LEFT JOIN pg_catalog.pg_trigger g ON g.tgrelid OPERATOR(pg_catalog.=) c.oid
      WHERE i.inhparent OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)`,
    [`${quoteIdent(tx.schema)}.${quoteIdent(`${table}_log`)}`],
  );
  const found = new Map(rows.filter((r) => r.name !== null).map((r) => [`${r.rel}.${r.name}`, r.enabled!]));
  for (const rel of new Set(rows.map((r) => r.rel))) {
    for (const name of PARTITION_TRIGGERS) {
      checkTrigger(
        report,
        table,
        `${name} on partition ${rel}`,
        found.get(`${rel}.${name}`),
        'writes naming that partition',
      );
    }
  }
}

/** Reports trigger `what` ("name on relation") missing, or not enabled (`tgenabled` O or A). */
function checkTrigger(
  report: Report,
  table: string,
  what: string,
  enabled: string | undefined,
  writes: string,
): void {
  if (enabled === undefined) {
    report.fail(table, null, null, 'trigger_missing', `trigger ${what} is missing`);
  } else if (enabled !== 'O' && enabled !== 'A') {
    report.fail(
      table,
      null,
      null,
      'trigger_disabled',
      `trigger ${what} is disabled (ALTER TABLE … DISABLE TRIGGER or replica-only): ${writes} bypass appendlog while it is`,
    );
  }
}

async function checkTriggers(tx: Session, table: string, report: Report): Promise<void> {
  const rows = await tx.run<{ rel: string; name: string; enabled: string }>(
    `SELECT c.relname AS rel, g.tgname AS name, g.tgenabled::text AS enabled
       FROM pg_catalog.pg_trigger g
       JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE n.nspname OPERATOR(pg_catalog.=) $1 AND c.relname OPERATOR(pg_catalog.=) ANY ($2::text[])`,
    [tx.schema, [`${table}_log`, `${table}_head`]],
  );
  const found = new Map(rows.map((r) => [`${r.rel}.${r.name}`, r.enabled]));
  for (const [suffix, name] of ENFORCING_TRIGGERS) {
    const rel = `${table}${suffix}`;
    checkTrigger(report, table, `${name} on ${rel}`, found.get(`${rel}.${name}`), 'writes');
  }
}

/** `name` → body of every function `codeDdl` creates (the text between its `$fn$` quotes). */
function generatedBodies(ddl: string): Map<string, string> {
  const bodies = new Map<string, string>();
  const re = /CREATE (?:OR REPLACE )?FUNCTION (\S+?)\([\s\S]*?\$fn\$([\s\S]*?)\$fn\$/g;
  for (const m of ddl.matchAll(re)) bodies.set(m[1]!, m[2]!);
  return bodies;
}

async function checkCode(tx: Session, t: RecordedTable, report: Report): Promise<void> {
  const sharded = (await findShardedLogs(tx, [t.table])).length > 0;
  const expected = generatedBodies(codeDdl(tx.schema, t.table, t.definition, { sharded }));
  // By name: another role may have planted an overload beside a generated function; the check is
  // that the generated one is there, unchanged.
  const rows = await tx.run<{ name: string; body: string }>(
    `SELECT p.proname AS name, p.prosrc AS body
       FROM pg_catalog.pg_proc p
      WHERE p.pronamespace OPERATOR(pg_catalog.=) pg_catalog.to_regnamespace($1)
        AND p.proname OPERATOR(pg_catalog.=) ANY ($2::text[])`,
    [quoteIdent(tx.schema), [...expected.keys()].map((q) => unquote(q.slice(q.indexOf('".') + 2)))],
  );
  const actual = new Map<string, string[]>();
  for (const r of rows) {
    const name = `${quoteIdent(tx.schema)}.${quoteIdent(r.name)}`;
    actual.set(name, [...(actual.get(name) ?? []), r.body]);
  }
  for (const [name, body] of expected) {
    const found = actual.get(name);
    if (found === undefined) {
      report.fail(t.table, null, null, 'code_modified', `function ${name} is missing`);
    } else if (!found.includes(body)) {
      report.fail(
        t.table,
        null,
        null,
        'code_modified',
        `function ${name} is not the code appendlog generates for this table (revision ${TABLE_CODE_REVISION}): it was replaced or edited`,
      );
    }
  }
}

async function checkErasureTimes(tx: Session, table: string, report: Report): Promise<void> {
  const erasures = catalogName(tx.schema, 'appendlog_erasures');
  const [exists] = await tx.run<{ ok: boolean }>(`SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok`, [
    erasures,
  ]);
  if (!exists?.ok) return;
  const rows = await tx.run<{ entry_id: string; erased_at: string; due_at: string }>(
    `SELECT entry_id::text, erased_at::text, due_at::text FROM ${erasures}
      WHERE table_name OPERATOR(pg_catalog.=) $1 AND erased_at OPERATOR(pg_catalog.<) due_at
      ORDER BY seq`,
    [table],
  );
  for (const r of rows) {
    report.fail(
      table,
      r.entry_id,
      null,
      'erasure_early',
      `entry ${r.entry_id} was erased at ${r.erased_at}, before its due time ${r.due_at}`,
    );
  }
}

/** `"name"` → `name` (generated names are always quoted, with `""` for a quote). */
function unquote(quoted: string): string {
  return quoted.slice(1, -1).replaceAll('""', '"');
}
