import type { Database, Op } from 'appendlog';
import { tableObjects } from 'appendlog';

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
  byActor: Array<{ actor: string | null; changes: number }>;
  total: number;
}

const OPS: Op[] = ['insert', 'update', 'delete', 'restore', 'forget'];

function floorTo(date: Date, range: RangeName): Date {
  const d = new Date(date);
  d.setUTCSeconds(0, 0);
  if (range !== 'minutes') d.setUTCMinutes(0);
  if (range === 'days') d.setUTCHours(0);
  return d;
}

function logTable(db: Database): string {
  return tableObjects(db.schema, 'addresses').log;
}

/**
 * Changes over time, counted straight from the log with SQL: the log is an ordinary table, so
 * analytics come for free. With no `range`, picks the finest zoom that covers all activity.
 */
export async function activity(db: Database, range?: RangeName, now = new Date()): Promise<Activity> {
  const chosen = range ?? (await defaultRange(db, now));
  const { unit, count, stepMs } = RANGES[chosen];
  const first = new Date(floorTo(now, chosen).getTime() - (count - 1) * stepMs);
  const rows = await db.query<{ bucket: string; op: Op; n: number }>(
    `SELECT to_char(date_trunc($1, recorded_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:00"Z"') AS bucket,
            op, count(*)::int AS n
       FROM ${logTable(db)}
      WHERE recorded_at >= $2
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
  const byActor = await db.query<{ actor: string | null; changes: number }>(
    `SELECT actor, count(*)::int AS changes FROM ${logTable(db)}
      WHERE recorded_at >= $1 GROUP BY actor ORDER BY changes DESC, actor LIMIT 10`,
    [first.toISOString()],
  );
  return { range: chosen, buckets, byActor, total };
}

async function defaultRange(db: Database, now: Date): Promise<RangeName> {
  const [row] = await db.query<{ oldest: string | null }>(
    `SELECT to_char(min(recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS oldest FROM ${logTable(db)}`,
  );
  const age = row?.oldest ? now.getTime() - new Date(row.oldest).getTime() : 0;
  if (age < 55 * 60_000) return 'minutes';
  if (age < 47 * 3_600_000) return 'hours';
  return 'days';
}
