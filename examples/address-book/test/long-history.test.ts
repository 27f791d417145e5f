import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses } from '../src/schema.js';
import { RowCounter } from './row-counter.js';
import { Client, describeEngines, type TestBook } from './support.js';

/** Versions of the one person: reading them whole would return at least this many rows. */
const VERSIONS = 3_000;
/**
 * What one of these pages may read: the versions it shows (50 at most, on the conflict page),
 * the session and the accounts' names. Far under `VERSIONS`.
 */
const MAX_ROWS = 100;
const MAX_BYTES = 64 * 1024;

/**
 * The pages of one version, of the person, of the edit form (and its conflict), of the forget
 * confirmation and of a revert read what they show, not the whole history: a person with 3,000
 * versions, and every row the database returns to the app counted at the client.
 */
describeEngines('A person with 3,000 versions', (engine) => {
  const counter = new RowCounter();
  let t: TestBook;
  let browser: Client;
  let id: string;

  beforeAll(async () => {
    t = await engine.open(counter);
    const v1 = await t.db
      .table(addresses)
      .insert({ name: 'Ada Lovelace', tel: 'tel 1' }, { actor: 'loader' });
    id = v1.entryId;
    // Versions 2 to 3,000 in one statement: version n has the telephone "tel n".
    await t.db.query(
      `DO $$ BEGIN FOR n IN 2..${VERSIONS} LOOP
         UPDATE addresses SET tel = 'tel ' || n WHERE entry_id = '${id}';
       END LOOP; END $$`,
    );
    browser = new Client(t.db);
    await browser.actAs('alice', 'admin');
    // The first page waits for the badge's first full verify (a COPY, not counted): done here.
    expect((await browser.get(`/people/${id}`)).status).toBe(200);
  }, 300_000);
  afterAll(() => t?.close());

  /** A request, its status, its page and the rows the database returned for it. */
  const read = async (send: () => Promise<Response>) => {
    const { result, rows } = await counter.during(async () => {
      const res = await send();
      return { status: res.status, html: await res.text() };
    });
    expect(Buffer.byteLength(result.html)).toBeLessThan(MAX_BYTES);
    return { ...result, rows };
  };

  it('has 3,000 versions', async () => {
    const [latest] = await t.db.table(addresses).history(id, { limit: 1 });
    expect(latest).toMatchObject({ version: VERSIONS, data: { tel: `tel ${VERSIONS}` } });
  });

  it('shows version 3 and its diff to the latest, reading only those', async () => {
    const page = await read(() => browser.get(`/people/${id}/versions/3`));
    expect(page.status).toBe(200);
    expect(page.html).toContain(`version 3 of ${VERSIONS}`);
    expect(page.html).toContain('tel 3<');
    expect(page.html).toContain(`<del>tel 3</del> <ins>tel ${VERSIONS}</ins>`);
    expect(page.html).toContain('Revert to v3');
    expect(page.rows).toBeLessThan(MAX_ROWS);

    const latest = await read(() => browser.get(`/people/${id}/versions/${VERSIONS}`));
    expect(latest.html).toContain(`version ${VERSIONS} of ${VERSIONS}`);
    expect(latest.html).not.toContain('From this version to the latest');
    expect(latest.rows).toBeLessThan(MAX_ROWS);

    const missing = await read(() => browser.get(`/people/${id}/versions/${VERSIONS + 1}`));
    expect(missing.status).toBe(404);
    expect(missing.html).toContain(`this person has versions 1 to ${VERSIONS}`);
    expect(missing.rows).toBeLessThan(MAX_ROWS);
  });

  it("counts the versions on the person's page from the latest one", async () => {
    // Its chain check (verify, a binary COPY not counted here) reads the chain whole by design.
    const page = await read(() => browser.get(`/people/${id}`));
    expect(page.status).toBe(200);
    expect(page.html).toContain(`History (${VERSIONS} versions)`);
    expect(page.html).toContain(`all ${VERSIONS} versions verify`);
    expect(page.html).toContain(`tel ${VERSIONS}<`);
    expect(page.rows).toBeLessThan(MAX_ROWS);
  });

  it('opens the edit form and the forget confirmation at the latest version', async () => {
    for (const path of [`/people/${id}/edit`, `/people/${id}/forget`]) {
      const page = await read(() => browser.get(path));
      expect(page.status, path).toBe(200);
      expect(page.html, path).toContain(`name="expectedVersion" value="${VERSIONS}"`);
      expect(page.html, path).toContain(`tel ${VERSIONS}`);
      expect(page.rows, path).toBeLessThan(MAX_ROWS);
    }
  });

  it('answers an edit opened at version 3 with the newest 50 versions since, and a link to the rest', async () => {
    const form = { expectedVersion: '3', name: 'Ada Lovelace', tel: '0161 000' };
    const page = await read(() => browser.post(`/people/${id}`, form));
    expect(page.status).toBe(409);
    expect(page.html).toContain(`You started from version 3; it is now at version ${VERSIONS}.`);
    expect(page.html).toContain(`<del>tel 3</del> <ins>tel ${VERSIONS}</ins>`);
    const since = [...page.html.matchAll(/<li><span class="meta">.*? v(\d+) by/g)].map((m) => Number(m[1]));
    expect(since).toEqual(Array.from({ length: 50 }, (_, i) => VERSIONS - 49 + i));
    expect(page.html).toContain(`The newest 50 of ${VERSIONS - 3} versions since yours`);
    expect(page.html).toContain(`href="/people/${id}/history">the history</a>`);
    // The telephone changed on both sides: theirs said, yours kept in the field.
    expect(page.html).toMatch(
      /value="0161 000"[^>]*>\s*<p class="error" id="f-tel-error">Also changed meanwhile/,
    );
    expect(page.rows).toBeLessThan(MAX_ROWS);
  });

  it("answers the history API's form from before the paging, ?before=n, with 50 versions at most", async () => {
    const res = await read(() => browser.get(`/api/people/${id}/history?before=${VERSIONS}`));
    expect(res.status).toBe(200);
    const versions = (JSON.parse(res.html) as Array<{ version: number }>).map((v) => v.version);
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => VERSIONS - 50 + i));
    expect(res.rows).toBeLessThan(MAX_ROWS);
  });

  it('reverts to version 3, reading only the versions it needs', async () => {
    const form = { version: '3', expectedVersion: String(VERSIONS), reason: 'back' };
    const res = await read(() => browser.post(`/people/${id}/revert`, form));
    expect(res.status).toBe(303);
    expect(res.rows).toBeLessThan(MAX_ROWS);
    const [latest] = await t.db.table(addresses).history(id, { limit: 1 });
    expect(latest).toMatchObject({ version: VERSIONS + 1, data: { tel: 'tel 3' }, meta: { revertedTo: 3 } });
  });
});
