import { describe, expectTypeOf, it } from 'vitest';
import {
  type AsOf,
  type ChangeSet,
  column as c,
  type FieldChange,
  type Instant,
  type Page,
  type Table,
  table,
  type Version,
} from '../src/index.js';

// Checked by `tsc` (npm run typecheck, part of npm test); the runtime body is trivial.
const notes = table('notes', { title: c.text().notNull(), tags: c.jsonb<string[]>() });
type Data = typeof notes.$inferData;
type Book = Table<typeof notes.definition>;

describe('time travel types', () => {
  it('reads return versions typed from the definition', () => {
    expectTypeOf<Book['at']>().parameter(1).toEqualTypeOf<AsOf>();
    expectTypeOf<Book['at']>().returns.resolves.toEqualTypeOf<Version<Data> | null>();
    expectTypeOf<Book['listAt']>().parameter(0).toEqualTypeOf<Instant>();
    expectTypeOf<Book['listAt']>().returns.resolves.toEqualTypeOf<Page<Version<Data>>>();
    expectTypeOf<Book['deleted']>().returns.resolves.toEqualTypeOf<Page<Version<Data>>>();
    // A page is still an array of versions.
    expectTypeOf<Page<Version<Data>>>().toMatchTypeOf<Version<Data>[]>();
    expectTypeOf<Book['revert']>().returns.resolves.toEqualTypeOf<Version<Data>>();
    expectTypeOf<{ version: 3 }>().toMatchTypeOf<AsOf>();
    expectTypeOf<'2026-01-01T00:00:00.123456Z'>().toMatchTypeOf<AsOf>();
    expectTypeOf<{ at: 3 }>().not.toMatchTypeOf<AsOf>();
  });

  it('a field change pairs each key with its own value type', () => {
    type Change = FieldChange<typeof notes.definition>;
    expectTypeOf<Change>().toEqualTypeOf<
      | { field: 'title'; before: string; after: string }
      | { field: 'tags'; before: string[] | null; after: string[] | null }
    >();
    expectTypeOf<{ field: 'title'; before: null; after: 'x' }>().not.toMatchTypeOf<Change>();
  });

  it('change sets carry the table name and untyped data', () => {
    expectTypeOf<ChangeSet['versions'][number]['table']>().toEqualTypeOf<string>();
    expectTypeOf<ChangeSet['versions'][number]['data']>().toEqualTypeOf<Record<string, unknown>>();
  });
});
