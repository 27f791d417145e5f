import type { Database, Op, Projection, ProjectionRun } from 'appendlog';
import { plainTable } from './ident.js';
import { addresses } from './schema.js';

/** The three zoom levels of the activity chart. */
export const RANGES = {
  minutes: { unit: 'minute', count: 60, stepMs: 60_000, label: 'last hour, per minute' },
  hours: { unit: 'hour', count: 48, stepMs: 3_600_000, label: 'last 48 hours, per hour' },
  days: { unit: 'day', count: 30, stepMs: 86_400_000, label: 'last 30 days, per day' },
} as const;
export type RangeName = keyof typeof RANGES;

export interface Bucket {
  /** Start of the bucket (UTC). */
  start: Date;
  counts: Record<Op, number>;
  total: number;
}

export interface Activity {
  range: RangeName;
  buckets: Bucket[];
  /** The busiest {@link TOP_ACTORS} actors of the period, busiest first. */
  byActor: Array<{ actor: string | null; changes: number }>;
  /** How many actors made changes in the period (`byActor` holds at most {@link TOP_ACTORS}). */
  actors: number;
  total: number;
}

const OPS: Op[] = ['insert', 'update', 'delete', 'restore', 'forget'];

/** How many actors the activity page lists by name: the busiest. */
export const TOP_ACTORS = 10;

function floorTo(date: Date, range: RangeName): Date {
  const d = new Date(date);
  d.setUTCSeconds(0, 0);
  if (range !== 'minutes') d.setUTCMinutes(0);
  if (range === 'days') d.setUTCHours(0);
  return d;
}

/** The projection's name in `appendlog_projections` (see `appendlog projection status`). */
export const ACTIVITY_PROJECTION = 'address_book_activity';

/**
 * The activity chart's numbers: a durable projection of the log into a plain table, one row per
 * minute, op and actor with its count, so the chart is a `GROUP BY` over a few rows per minute
 * of activity instead of a scan of the log. `start()` keeps it following the log (the server);
 * `read()` first applies what is readable now, so a page shows the change just made.
 */
export class ActivityCounts {
  readonly #db: Database;
  readonly table: string;
  readonly projection: Projection;
  #ready: Promise<void> | undefined;

  constructor(db: Database) {
    this.#db = db;
    this.table = plainTable(db, 'address_book_activity');
    const table = this.table;
    this.projection = db.projection(ACTIVITY_PROJECTION, {
      tables: [addresses],
      async apply(set, tx) {
        // One upsert per (minute, op, actor) of the set, in the transaction that moves the cursor.
        const counts = new Map<string, { minute: string; op: string; n: number }>();
        for (const v of set.versions) {
          const minute = `${v.recordedAtIso.slice(0, 16)}:00Z`;
          const key = `${minute} ${v.op}`;
          const c = counts.get(key) ?? { minute, op: v.op, n: 0 };
          c.n += 1;
          counts.set(key, c);
        }
        for (const c of counts.values())
          await tx.query(
            `INSERT INTO ${table} (minute, op, actor, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (minute, op, actor) DO UPDATE SET n = ${table}.n + EXCLUDED.n`,
            [c.minute, c.op, set.actor, c.n],
          );
      },
      async reset(tx) {
        await tx.query(`DELETE FROM ${table}`);
      },
    });
  }

  /**
   * Creates the table when it is missing (once per process). `prepareDatabase` makes it as the
   * owner; a least-privilege app role, which may not create tables, then finds it there.
   */
  ready(): Promise<void> {
    if (this.#ready === undefined) {
      const made = this.#create();
      // A failure is not kept: the next page tries again.
      made.catch(() => {
        if (this.#ready === made) this.#ready = undefined;
      });
      this.#ready = made;
    }
    return this.#ready;
  }

  async #create(): Promise<void> {
    const [row] = await this.#db.query<{ present: boolean }>(
      'SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present',
      [this.table],
    );
    if (row?.present) return;
    await this.#db.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         minute timestamptz NOT NULL,
         op text NOT NULL,
         actor text,
         n integer NOT NULL,
         UNIQUE NULLS NOT DISTINCT (minute, op, actor)
       )`,
    );
  }

  /** Follows the log in the background until `stop()`. */
  async start(): Promise<ProjectionRun> {
    await this.ready();
    const run = this.projection.start();
    run.done.catch((err) => console.error('activity projection stopped:', err));
    return run;
  }

  /** The table brought up to date with what is readable now. */
  async current(): Promise<string> {
    await this.ready();
    await this.projection.catchUp();
    return this.table;
  }
}

/**
 * Changes over time, counted from the activity projection with SQL. With no `range`, picks the
 * finest zoom that covers all activity.
 */
export async function activity(
  counts: ActivityCounts,
  db: Database,
  range?: RangeName,
  now = new Date(),
): Promise<Activity> {
  const table = await counts.current();
  const chosen = range ?? (await defaultRange(db, table, now));
  const { unit, count, stepMs } = RANGES[chosen];
  const first = new Date(floorTo(now, chosen).getTime() - (count - 1) * stepMs);
  const rows = await db.query<{ bucket: string; op: Op; n: number }>(
    `SELECT to_char(date_trunc($1, minute AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:00"Z"') AS bucket,
            op, sum(n)::int AS n
       FROM ${table}
      WHERE minute >= $2
      GROUP BY 1, 2`,
    [unit, first.toISOString()],
  );
  const buckets: Bucket[] = [];
  const byStart = new Map<number, Bucket>();
  for (let i = 0; i < count; i++) {
    const start = new Date(first.getTime() + i * stepMs);
    const bucket: Bucket = {
      start,
      counts: { insert: 0, update: 0, delete: 0, restore: 0, forget: 0 },
      total: 0,
    };
    buckets.push(bucket);
    byStart.set(start.getTime(), bucket);
  }
  let total = 0;
  for (const row of rows) {
    const bucket = byStart.get(new Date(row.bucket).getTime());
    if (!bucket || !OPS.includes(row.op)) continue;
    bucket.counts[row.op] += row.n;
    bucket.total += row.n;
    total += row.n;
  }
  // count(*) OVER () counts the groups before the LIMIT: every actor of the period.
  const top = await db.query<{ actor: string | null; changes: number; actors: number }>(
    `SELECT actor, sum(n)::int AS changes, (count(*) OVER ())::int AS actors FROM ${table}
      WHERE minute >= $1 GROUP BY actor ORDER BY changes DESC, actor LIMIT ${TOP_ACTORS}`,
    [first.toISOString()],
  );
  const byActor = top.map(({ actor, changes }) => ({ actor, changes }));
  return { range: chosen, buckets, byActor, actors: top[0]?.actors ?? 0, total };
}

/** Changes the chart cannot count yet because a transaction still open holds them back. */
export interface HeldBack {
  /** Versions committed after the open transaction began, waiting for it to end. */
  changes: number;
  /** When the oldest open transaction began; null when the role may not see it (pg_read_all_stats). */
  since: Date | null;
  /** How long the oldest waiting change has waited, in seconds. */
  waitingSeconds: number;
}

/**
 * Why the chart is behind, from the projection's status: null when nothing is held back. The feed
 * takes a transaction only once every transaction that began before it has ended, so one left
 * open (in any database of the server) holds back the changes committed after it, losing none.
 */
export async function heldBack(counts: ActivityCounts): Promise<HeldBack | null> {
  const s = await counts.projection.status();
  if (s.heldBack === 0) return null;
  return {
    changes: s.heldBack,
    since: s.heldBy?.startedAt ?? null,
    waitingSeconds: Math.round(s.lagSeconds),
  };
}

async function defaultRange(db: Database, table: string, now: Date): Promise<RangeName> {
  const [row] = await db.query<{ oldest: string | null }>(
    `SELECT to_char(min(minute) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS oldest FROM ${table}`,
  );
  const age = row?.oldest ? now.getTime() - new Date(row.oldest).getTime() : 0;
  if (age < 55 * 60_000) return 'minutes';
  if (age < 47 * 3_600_000) return 'hours';
  return 'days';
}
