/** What migrations need from a database handle: `Database` (or its transaction handle) fits. */
export interface SqlRunner {
  run<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  exec(sql: string): Promise<void>;
}
