import { quoteIdent } from '../schema/names.js';
import type { Session } from '../session.js';

let cursorCounter = 0;

/**
 * Reads a query's rows page by page through a server-side cursor, so memory stays flat however
 * large the table. Must be used inside a transaction (cursors live in one).
 */
export class CursorReader<R> {
  readonly #tx: Session;
  readonly #name: string;
  readonly #pageSize: number;
  #rows: R[] = [];
  #at = 0;
  #exhausted = false;
  #next: Promise<R[]> | null = null;

  private constructor(tx: Session, name: string, pageSize: number) {
    this.#tx = tx;
    this.#name = name;
    this.#pageSize = pageSize;
  }

  /** Declares the cursor. */
  static async open<R>(
    tx: Session,
    sql: string,
    params: readonly unknown[] = [],
    pageSize = 2000,
  ): Promise<CursorReader<R>> {
    const name = quoteIdent(`appendlog_cursor_${++cursorCounter}`);
    await tx.run(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`, params);
    return new CursorReader<R>(tx, name, pageSize);
  }

  /**
   * The next page of rows, or an empty array at the end. Fetches the page after it at once, so
   * the server produces it while the caller works on this one.
   */
  async page(): Promise<R[]> {
    if (this.#exhausted && this.#next === null) return [];
    const rows = await (this.#next ?? this.#fetch());
    this.#next = null;
    if (rows.length < this.#pageSize) this.#exhausted = true;
    else this.#next = this.#fetch();
    return rows;
  }

  #fetch(): Promise<R[]> {
    const p = this.#tx.run<R>(`FETCH FORWARD ${this.#pageSize} FROM ${this.#name}`);
    // Awaited by the next page() (or close()); until then, a failure must not count as unhandled.
    p.catch(() => {});
    return p;
  }

  /** Makes sure a row is buffered; false at the end. */
  async fill(): Promise<boolean> {
    if (this.#at < this.#rows.length) return true;
    this.#rows = await this.page();
    this.#at = 0;
    return this.#rows.length > 0;
  }

  /** The buffered row at the front (call {@link fill} first). */
  peek(): R | undefined {
    return this.#rows[this.#at];
  }

  /** Removes the front row. */
  shift(): void {
    this.#at += 1;
  }

  async close(): Promise<void> {
    if (this.#next !== null) await this.#next.catch(() => []);
    this.#next = null;
    await this.#tx.run(`CLOSE ${this.#name}`);
  }
}
