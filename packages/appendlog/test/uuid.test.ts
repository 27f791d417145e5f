import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../src/model/uuid.js';
import { describeEngines } from './support/engines.js';
import { addresses } from './support/tables.js';

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying the millisecond it was drawn', () => {
    const at = Date.UTC(2026, 11, 6, 3, 4, 5, 678);
    const id = uuidv7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sorts by time, and ids of one millisecond differ', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => uuidv7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    const ms = (id: string) => id.slice(0, 13);
    expect(ids.map(ms)).toEqual([...ids].sort().map(ms));
  });
});

describeEngines('entry ids the library draws', (engine) => {
  it('are version 7, in creation order, in insert and insertMany alike; a chosen id is kept', async () => {
    const t = await engine.open();
    try {
      await t.db.migrate([addresses]);
      const book = t.db.table(addresses);
      const one = await book.insert({ name: 'One' });
      const many = await book.insertMany([
        { name: 'Two' },
        { name: 'Three', entryId: '00000000-0000-4000-8000-000000000001' },
      ]);
      const later = await book.insert({ name: 'Four' });
      for (const v of [one, many[0]!, later]) expect(v.entryId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      expect(many[1]!.entryId).toBe('00000000-0000-4000-8000-000000000001');
      expect(one.entryId < later.entryId).toBe(true);
      // Raw SQL that names no id gets the head's default, a random UUID.
      const [raw] = await t.db.query<{ id: string }>(
        `INSERT INTO addresses (name) VALUES ('Raw') RETURNING entry_id::text AS id`,
      );
      expect(raw!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
    } finally {
      await t.close();
    }
  });
});
