import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { quoteLiteral } from '../src/schema/names.js';
import { describeEngines, type TestDb } from './support/engines.js';

// Issue 14, item 8: a literal the library writes reads back as written whatever the session's
// standard_conforming_strings, so a backslash can never end it early.
const hostile = ['plain', "it's", 'a\\', "\\'; SELECT 1; --", '\\\\', "x'\\", '\\x00', 'ünï\\cødé'];

describeEngines('quoteLiteral', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
  });
  afterAll(() => t.close());

  for (const setting of ['on', 'off']) {
    it(`reads back every string exactly with standard_conforming_strings = ${setting}`, async () => {
      await db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL standard_conforming_strings = ${setting}`);
        await tx.exec('SET LOCAL escape_string_warning = off');
        for (const value of hostile) {
          const [row] = await tx.query<{ v: string }>(`SELECT ${quoteLiteral(value)}::text AS v`);
          expect(row!.v, value).toBe(value);
        }
      });
    });
  }
});
