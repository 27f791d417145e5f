import { describe, expectTypeOf, it } from 'vitest';
import {
  column as c,
  type Database,
  type ErasureStatus,
  type ForgetOptions,
  type PurgeOptions,
  type PurgeResult,
  type RetentionPolicy,
  table,
  type Version,
} from '../src/index.js';

// These assertions are checked by `tsc` (npm run typecheck, part of npm test); the runtime body is trivial.
const people = table('people', {
  name: c.text().notNull(),
  age: c.integer(),
  balance: c.numeric(),
  visits: c.bigint().notNull(),
  vip: c.boolean(),
  born: c.date(),
  seenAt: c.timestamptz(),
  prefs: c.jsonb<{ theme: 'dark' | 'light' }>(),
  ref: c.uuid(),
});

describe('types inferred from the table definition', () => {
  it('data of a version', () => {
    type Data = typeof people.$inferData;
    expectTypeOf<Data>().toEqualTypeOf<{
      name: string;
      visits: string;
      age: number | null;
      balance: string | null;
      vip: boolean | null;
      born: string | null;
      seenAt: Date | null;
      prefs: { theme: 'dark' | 'light' } | null;
      ref: string | null;
    }>();
  });

  it('insert input: notNull keys required, the rest optional, wider input types', () => {
    type Insert = typeof people.$inferInsert;
    expectTypeOf<{ name: 'x'; visits: 1n }>().toMatchTypeOf<Insert>();
    expectTypeOf<{
      name: 'x';
      visits: '1';
      seenAt: '2024-01-01T00:00:00Z';
      balance: 1.5;
    }>().toMatchTypeOf<Insert>();
    expectTypeOf<{ name: 'x' }>().not.toMatchTypeOf<Insert>();
    expectTypeOf<{ name: 1; visits: 1 }>().not.toMatchTypeOf<Insert>();
  });

  it('table methods return typed versions', () => {
    const api = (db: Database) => db.table(people);
    type Api = ReturnType<typeof api>;
    expectTypeOf<Awaited<ReturnType<Api['get']>>>().toEqualTypeOf<Version<typeof people.$inferData> | null>();
    expectTypeOf<Parameters<Api['update']>[1]>().toMatchTypeOf<{ age?: number | null }>();
    expectTypeOf<{ nope: 1 }>().not.toMatchTypeOf<Parameters<Api['update']>[1]>();
  });
});

describe('types of the erasure API', () => {
  it('forget, cancelForget, erasure and purge', () => {
    const notes = table('notes', { body: c.text() }, { retention: { deletedFor: '90 days' } });
    const book = {} as ReturnType<typeof tableOf>;
    function tableOf(db: Database) {
      return db.table(notes);
    }
    expectTypeOf(book.forget).returns.resolves.toEqualTypeOf<Version<{ body: string | null }>>();
    expectTypeOf(book.cancelForget).returns.resolves.toEqualTypeOf<Version<{ body: string | null }>>();
    expectTypeOf(book.forget).parameter(1).toEqualTypeOf<ForgetOptions>();
    expectTypeOf<ForgetOptions['after']>().toEqualTypeOf<string | Date | undefined>();
    expectTypeOf(book.erasure).returns.resolves.toEqualTypeOf<ErasureStatus | null>();
    const status = {} as ErasureStatus;
    if (status.state === 'erased') {
      expectTypeOf(status.erasedAt).toEqualTypeOf<Date>();
      expectTypeOf(status.versions).toEqualTypeOf<number>();
    } else {
      expectTypeOf(status.erasedAt).toEqualTypeOf<null>();
    }
    expectTypeOf<Database['purge']>().parameter(0).toEqualTypeOf<PurgeOptions | undefined>();
    expectTypeOf<Database['purge']>().returns.resolves.toEqualTypeOf<PurgeResult>();
    expectTypeOf(notes.retention).toEqualTypeOf<RetentionPolicy | undefined>();
    // @ts-expect-error a reason is required
    const _noReason = () => book.forget('id', {});
    expectTypeOf(_noReason).toBeFunction();
  });
});
