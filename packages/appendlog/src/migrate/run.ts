import { DestructiveMigrationError, InvalidInputError } from '../errors.js';
import { quoteIdent, validateSchemaName } from '../schema/names.js';
import type { TableDef } from '../schema/table.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { splitScript } from '../sql/split-script.js';
import { SUBSCRIBER_TRIGGER, subscriberCopyDdl } from '../sql/subscriber-ddl.js';
import { LIBRARY_VERSION } from '../version.js';
import { catalogIsCurrent, catalogScript } from './catalog-upgrade.js';
import { planDdlGuard, withDdlAllowed } from './ddl-guard.js';
import { CITUS_MIGRATION_SETTINGS, isCitus, planDistribution } from './distribute.js';
import { readRecordedDefinitions } from './history.js';
import { readCodeRevisions, readExistingTables } from './introspect.js';
import { planPartitioning } from './partition.js';
import { planMigration, type SchemaChange } from './plan.js';
import type { SqlRunner } from './sql-runner.js';
import { planStrictContext } from './strict-context.js';

/**
 * Options of `db.migrate`.
 *
 * @example
 * await db.migrate(tables, { dryRun: true });
 * await db.migrate(tables, { all: true, appRole: 'app', lockTimeoutMs: 3000 });
 */
export interface MigrateOptions {
  /** Plan only: return the SQL without running it (destructive changes are still refused). */
  dryRun?: boolean;
  /**
   * Grant an application role read and append rights, and deny it UPDATE/DELETE/TRUNCATE. On
   * PostgreSQL this also turns strict mode on for the role's sessions in this database
   * (`appendlog.strict_context`, see `strictContext`).
   */
  appRole?: string;
  /**
   * With `appRole` on PostgreSQL: whether migrate sets `appendlog.strict_context = on` for that
   * role in this database (`ALTER ROLE … IN DATABASE … SET`), so that the triggers refuse an
   * actor, reason or meta a pooled connection kept from an earlier transaction (a session-level
   * `SET`) and take them only from `appendlog_context()` or the library. Default `true`; `false`
   * leaves the role's settings alone. A value already set for the role or the database is kept
   * either way. Where the migrating role may not set it (it takes a superuser, or `GRANT SET ON
   * PARAMETER appendlog.strict_context` with CREATEROLE), migrate goes on and says so in
   * `notices`. Ignored on PGlite, whose one session never logs in as the app role, and on Citus,
   * where SQL labels reach the workers only as a propagated `SET LOCAL`, which strict mode refuses
   * (docs/sql-and-orms.md, "Strict mode").
   */
  strictContext?: boolean;
  /**
   * The tables given are every table of the schema. Without it, tables not listed are left
   * alone (several apps may share a schema); with it, a table the schema history knows but the
   * list lacks is a refused drop.
   */
  all?: boolean;
  /**
   * How long (ms) each DDL statement may wait for a table lock before the migration gives up
   * (a `timeout` error, SQLSTATE 55P03; nothing applied, retry later). Without it, a long
   * transaction on a log makes `ADD COLUMN` wait, and every query behind it queue, for as long
   * as that transaction runs.
   */
  lockTimeoutMs?: number;
  /**
   * This database is a logical replication subscriber of the tables given (docs/scale-out.md):
   * their logs and heads refuse every write but the subscription's.
   */
  subscriber?: boolean;
  /**
   * Row-shard the tables on Citus (docs/scale-out.md): the log and head of each table are
   * distributed by `entry_id`, co-located, so each entry's writes and the chain trigger run on the
   * worker holding it. Only on a Citus coordinator, for a schema whose appendlog tables are all
   * distributed (from its first table on); later migrations of those tables need not repeat it.
   */
  distributed?: boolean;
  /**
   * Partition the tables' logs by range of transaction id (docs/scale-out.md, "Range-partitioned
   * logs and archives"), so that `db.archive()` can take what a checkpoint covers out of the
   * database. An existing log is converted in place, without copying a row. A schema's logs are
   * partitioned all or none; later migrations of those tables need not repeat it. Not on Citus.
   */
  partitioned?: boolean;
}

/**
 * What `db.migrate` did (or, with `dryRun`, would do).
 *
 * @example
 * const { changes, behind } = await db.migrate([addresses]);
 * for (const c of changes) console.log(`${c.table}: ${c.summary}`);
 * if (behind.length > 0) console.log('running older code than the database:', behind);
 */
export interface MigrateResult {
  /** The SQL run (or, with `dryRun`, that would run); empty when there was nothing to do. */
  statements: string[];
  /** The changes applied, as recorded in the schema history; empty when up to date. */
  changes: Array<Pick<SchemaChange, 'table' | 'change' | 'columns' | 'summary'>>;
  /**
   * Tables whose definition is an older one from the schema history: this is old code running
   * after a newer migration, and nothing was done for them.
   */
  behind: string[];
  /**
   * What the caller should know and nothing refused: only present when there is something,
   * such as the DDL guard not installed, or strict mode not set for `appRole`, for want of a
   * superuser (docs/sql-and-orms.md).
   */
  notices?: string[];
}

/** Refuses anything but a list of distinct table definitions and well-formed options. */
export function checkMigrateInput(tables: unknown, options: unknown): asserts tables is readonly TableDef[] {
  if (!Array.isArray(tables)) throw new InvalidInputError('migrate() takes an array of tables', 'tables');
  const names = new Set<string>();
  for (const t of tables as unknown[]) {
    const def = t as Partial<TableDef> | null | undefined;
    if (!def || typeof def.name !== 'string' || !Array.isArray(def.columns)) {
      throw new InvalidInputError('migrate() takes tables made with table()', 'tables');
    }
    if (names.has(def.name)) throw new InvalidInputError(`table "${def.name}" is listed twice`, 'tables');
    names.add(def.name);
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInputError('migrate() options must be an object', 'options');
  }
  const o = options as MigrateOptions;
  for (const flag of [
    'dryRun',
    'all',
    'subscriber',
    'distributed',
    'partitioned',
    'strictContext',
  ] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') {
      throw new InvalidInputError(`migrate() option ${flag} must be a boolean`, flag);
    }
  }
  if (o.appRole !== undefined) validateSchemaName(o.appRole);
  if (
    o.lockTimeoutMs !== undefined &&
    (!Number.isInteger(o.lockTimeoutMs) || o.lockTimeoutMs < 1 || o.lockTimeoutMs > 2_147_483_647)
  ) {
    throw new InvalidInputError('migrate() option lockTimeoutMs must be a positive integer', 'lockTimeoutMs');
  }
}

/**
 * Plans and (unless `dryRun`) applies a migration inside the caller's transaction. The advisory
 * lock serialises every migrator of the schema, so a second instance planning the same change
 * finds it done and plans nothing. A refusal throws before any statement has run.
 */
export async function runMigration(
  tx: SqlRunner,
  kind: 'pglite' | 'postgres',
  schema: string,
  tables: readonly TableDef[],
  options: MigrateOptions,
): Promise<MigrateResult> {
  await tx.run(
    `SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('appendlog.migrate'), pg_catalog.hashtext($1))`,
    [schema],
  );
  const citus = await isCitus(tx);
  // Before anything reads a distributed table: Citus fixes a transaction's shard access mode at its first.
  if (citus && !options.dryRun) for (const setting of CITUS_MIGRATION_SETTINGS) await tx.exec(setting);
  if (options.appRole !== undefined) await checkRoleExists(tx, options.appRole);
  const history = await readRecordedDefinitions(tx, schema);
  const names = new Set(tables.map((t) => t.name));
  if (options.all) for (const r of history) names.add(r.table);
  const existing = await readExistingTables(tx, schema, [...names]);
  const catalogCurrent = await catalogIsCurrent(tx, schema);
  const codeRevisions = await readCodeRevisions(tx, schema, [...existing.keys()]);
  const distribution = await planDistribution(tx, schema, tables, options.distributed === true, citus);
  const plan = planMigration(schema, tables, existing, history, {
    appRole: options.appRole,
    all: options.all,
    catalog: catalogCurrent ? undefined : catalogScript(schema),
    codeRevisions,
    sharded: distribution.sharded,
  });
  if (plan.destructive.length > 0) throw new DestructiveMigrationError(plan.destructive);
  const guard = await planDdlGuard(tx);
  const strict = await planStrictContext(tx, { kind, citus }, options.appRole, options.strictContext);
  const partitioning = await planPartitioning(tx, schema, tables, {
    partitioned: options.partitioned === true,
    citus,
    subscriber: options.subscriber === true,
  });
  const planned = [
    ...plan.statements,
    ...distribution.statements,
    ...partitioning,
    ...(options.subscriber ? await planSubscriberCopies(tx, schema, tables) : []),
  ];
  const statements = [
    ...planned,
    ...(guard.statement === undefined ? [] : [guard.statement]),
    ...(strict.statement === undefined ? [] : [strict.statement]),
  ];
  const result: MigrateResult = {
    statements,
    changes: plan.changes.map(({ table, change, columns, summary }) => ({ table, change, columns, summary })),
    behind: plan.behind,
  };
  const notices = [guard.notice, strict.notice].filter((n) => n !== undefined);
  if (notices.length > 0) result.notices = notices;
  if (options.dryRun) return result;
  // After the advisory lock: a second migrator must wait for the first, however long it takes.
  if (options.lockTimeoutMs !== undefined && statements.length > 0) {
    await tx.run(`SELECT pg_catalog.set_config('lock_timeout', $1, true)`, [`${options.lockTimeoutMs}ms`]);
  }
  // migrate is the sanctioned way to change appendlog's objects: the DDL guard lets it through.
  if (statements.length > 0) {
    await withDdlAllowed(tx, async () => {
      // One statement at a time: Citus forwards some DDL as the whole text it came in (split-script.ts).
      for (const sql of statements) for (const statement of splitScript(sql)) await tx.exec(statement);
    });
  }
  for (const change of plan.changes) {
    await tx.run(
      `INSERT INTO ${catalogName(schema, 'appendlog_schema_history')}
         (table_name, change, columns, summary, definition, library_version, applied_by, statements)
       VALUES ($1, $2, $3::text[], $4, $5::jsonb, $6, current_user, $7)`,
      [
        change.table,
        change.change,
        change.columns,
        change.summary,
        JSON.stringify(change.definition),
        LIBRARY_VERSION,
        change.statements,
      ],
    );
  }
  return result;
}

/** The grants name `role`: say so before anything runs, not with PostgreSQL's bare 42704 half-way. */
async function checkRoleExists(tx: SqlRunner, role: string): Promise<void> {
  const rows = await tx.run(`SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1`, [role]);
  if (rows.length === 0) {
    throw new InvalidInputError(
      `migrate() option appRole names the role "${role}", which does not exist: create it first (CREATE ROLE ${quoteIdent(role)} LOGIN)`,
      'appRole',
    );
  }
}

/** The statements marking `tables` as a subscriber's copies, for those not marked yet. */
async function planSubscriberCopies(
  tx: SqlRunner,
  schema: string,
  tables: readonly TableDef[],
): Promise<string[]> {
  const objects = tables.map((t) => tableObjects(schema, t.name));
  const marked = await tx.run<{ t: string }>(
    `SELECT x.t FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[])) AS x (t, log, head)
      WHERE (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger g
              WHERE g.tgname = $4
                AND g.tgrelid IN (pg_catalog.to_regclass(x.log), pg_catalog.to_regclass(x.head))) = 2`,
    [tables.map((t) => t.name), objects.map((o) => o.log), objects.map((o) => o.head), SUBSCRIBER_TRIGGER],
  );
  const done = new Set(marked.map((r) => r.t));
  return tables.filter((t) => !done.has(t.name)).map((t) => subscriberCopyDdl(schema, t.name));
}
