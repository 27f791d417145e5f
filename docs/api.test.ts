// docs/api.md's word on what two calls return, checked against what they do return: the states of
// `erasure(id)` and the shape of `db.changes()`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { column as c, connect, table } from '../packages/appendlog/src/index.js';
import { freshPGlite } from '../packages/appendlog/test/support/pglite-snapshot.js';
import { repo } from './support/snippets.js';

const api = readFileSync(join(repo, 'docs', 'api.md'), 'utf8');

it("erasure(id)'s states and db.changes()'s result are what api.md says", async () => {
  const row = api.split('\n').find((l) => l.startsWith('| `erasure(id)`'));
  const states = [...(row ?? '').matchAll(/`'(\w+)'`/g)].map((m) => m[1]);
  const shape = /`db\.changes\(\{[^`]*\}\)`[^`]*?`\{ ([\w, ]+) \}`/.exec(api.replaceAll('\n', ' '));
  const keys = (shape?.[1] ?? '').split(', ');
  expect(states).toEqual(['scheduled', 'erased']);
  expect(keys).toEqual(['changes', 'cursor']);

  const client = await freshPGlite();
  const db = await connect({ client });
  try {
    const notes = table('notes', { body: c.text() });
    await db.migrate([notes]);
    const book = db.table(notes);
    const v = await book.insert({ body: 'call me' });
    await book.forget(v.entryId, { reason: 'request #1', after: '0 seconds' });
    const seen = [(await book.erasure(v.entryId))?.state];
    await db.purge();
    seen.push((await book.erasure(v.entryId))?.state);
    expect(seen).toEqual(states);
    expect(Object.keys(await db.changes()).sort()).toEqual([...keys].sort());
  } finally {
    await db.close();
    await client.close();
  }
});
