import type pg from 'pg';

/** The Citus coordinator of `../shared/citus/cluster.sh start`. */
export const COORDINATOR = 'postgres://postgres@127.0.0.1:5601/postgres';

/** One way of updating a row: `client`'s update of row `id` to its `n`-th value. */
export type UpdateOne<C> = (client: C, id: string, n: number) => Promise<void>;

/**
 * Updates per second of each contender, measured in `rounds` rounds of `seconds` each, the
 * contenders' order rotating from round to round so that each meets the same moments of the
 * machine. In a round, every client updates its own `rows[k]` (round robin) for `seconds`.
 */
export async function alternatingRounds<C, K extends string>(
  contenders: Record<K, { clients: readonly C[]; rows: readonly (readonly string[])[]; one: UpdateOne<C> }>,
  seconds: number,
  rounds: number,
): Promise<Record<K, number[]>> {
  const kinds = Object.keys(contenders) as K[];
  const results = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]!);
    for (const kind of order) {
      const { clients, rows, one } = contenders[kind];
      const end = Date.now() + seconds * 1000;
      const counts = await Promise.all(
        clients.map(async (client, k) => {
          const mine = rows[k]!;
          let n = 0;
          while (Date.now() < end) {
            await one(client, mine[n % mine.length]!, n);
            n++;
          }
          return n;
        }),
      );
      results[kind].push(counts.reduce((a, b) => a + b, 0) / seconds);
    }
  }
  return results;
}

export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One line per contender: every round's updates/s and the median. */
export function roundLines(results: Record<string, number[]>): string[] {
  const width = Math.max(...Object.keys(results).map((k) => k.length));
  return Object.entries(results).map(
    ([kind, xs]) =>
      `${kind.padEnd(width)}  ${xs.map((x) => x.toFixed(0)).join(' ')} updates/s, median ${median(xs).toFixed(0)}`,
  );
}

/** Drops `schema`, which appendlog's DDL guard protects: through its hatch. */
export async function dropGuardedSchema(admin: pg.Pool, schema: string): Promise<void> {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
