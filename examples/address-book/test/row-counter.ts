import type { PGlite } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

/**
 * The rows the database returns to the app, counted at the client: what a page read, whatever
 * library call or SQL it read it with. A binary COPY (the verifier's read) is not counted.
 */
export class RowCounter {
  rows = 0;
  /** The rows counted while `fn` ran. */
  async during<T>(fn: () => Promise<T>): Promise<{ result: T; rows: number }> {
    const start = this.rows;
    const result = await fn();
    return { result, rows: this.rows - start };
  }
}

type Messages = Array<{ name: string }>;
type Call = (...args: unknown[]) => unknown;

/** `execProtocolStream` answers the messages, `execProtocol` an object holding them. */
function dataRows(out: unknown): number {
  const messages: Messages = Array.isArray(out) ? out : ((out as { messages?: Messages }).messages ?? []);
  return messages.filter((m) => m.name === 'dataRow').length;
}

/** PGlite's two ways in: `query` (through `execProtocolStream`) and prepared statements (`execProtocol`). */
export function countPGlite(pg: PGlite, counter: RowCounter): void {
  const wire = pg as unknown as Record<'execProtocol' | 'execProtocolStream', Call>;
  for (const method of ['execProtocol', 'execProtocolStream'] as const) {
    const call = wire[method].bind(pg);
    wire[method] = async (...args: unknown[]) => {
      const out = await call(...args);
      counter.rows += dataRows(out);
      return out;
    };
  }
}

function resultRows(res: unknown): number {
  const results = Array.isArray(res) ? res : [res];
  return results.reduce((n: number, r) => n + ((r as { rows?: unknown[] } | null)?.rows?.length ?? 0), 0);
}

/** Every connection of a node-postgres pool, by the callback (`pool.query`) or the promise form. */
export function countPool(pool: Pool, counter: RowCounter): void {
  pool.on('connect', (client: PoolClient) => {
    const target = client as unknown as { query: Call };
    const query = target.query.bind(client);
    target.query = (...args: unknown[]) => {
      const done = args.at(-1);
      if (typeof done === 'function') {
        return query(...args.slice(0, -1), (err: unknown, res: unknown) => {
          if (!err) counter.rows += resultRows(res);
          done(err, res);
        });
      }
      const out = query(...args);
      if (!(out instanceof Promise)) return out;
      return out.then((res) => {
        counter.rows += resultRows(res);
        return res;
      });
    };
  });
}
