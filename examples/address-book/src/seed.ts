import { randomBytes } from 'node:crypto';
import { type Database, tableObjects } from 'appendlog';
import { AccountStore, type Role } from './accounts.js';
import { addresses } from './schema.js';

/** A demo account made at first start, with the password to print once. */
export interface DemoAccount {
  login: string;
  displayName: string;
  role: Role;
  password: string;
}

/**
 * On first start, three demo accounts (an admin, an editor and a viewer, with fresh random
 * passwords for the caller to print once) and a few people with some history made by them, so a
 * newcomer sees versions, diffs and the recycle bin at once. Does nothing (and returns null) when
 * the log already holds anything.
 */
export async function seedIfEmpty(db: Database): Promise<DemoAccount[] | null> {
  const [row] = await db.query<{ seeded: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${tableObjects(db.schema, 'addresses').log}) AS seeded`,
  );
  if (row?.seeded) return null;
  const store = AccountStore.for(db);
  const demo: DemoAccount[] = [
    { login: 'alice', displayName: 'Alice', role: 'admin', password: randomPassword() },
    { login: 'bob', displayName: 'Bob', role: 'editor', password: randomPassword() },
    { login: 'carol', displayName: 'Carol', role: 'viewer', password: randomPassword() },
  ];
  const ids: string[] = [];
  for (const d of demo) {
    const made = await store.create({ ...d, ...(ids[0] !== undefined && { actor: ids[0] }) });
    if (!('account' in made)) throw new Error(`could not create the demo account ${d.login}`);
    ids.push(made.account.id);
  }
  const [aliceId, bobId] = ids as [string, string];
  await db.transaction(async (tx) => {
    const book = tx.table(addresses);
    const alice = { actor: aliceId };
    const bob = { actor: bobId };
    const ada = await book.insert(
      {
        name: 'Ada Lovelace',
        addressLine1: '12 St James’s Square',
        city: 'London',
        postcode: 'SW1Y 4JH',
        tel: '+44 20 7946 0018',
      },
      alice,
    );
    await book.update(
      ada.entryId,
      { tel: '+44 20 7946 0991' },
      { ...bob, reason: 'new number from her letter' },
    );
    const grace = await book.insert(
      { name: 'Grace Hopper', city: 'Arlington', postcode: '22201', tel: '+1 703 555 0142' },
      alice,
    );
    await book.update(
      grace.entryId,
      { addressLine1: '1 Navy Pentagon' },
      { ...alice, reason: 'address was missing' },
    );
    await book.update(
      grace.entryId,
      { city: 'Washington', postcode: '20350' },
      { ...bob, reason: 'moved to the Pentagon' },
    );
    await book.insert(
      {
        name: 'Alan Turing',
        addressLine1: 'Hollymeade, Adlington Road',
        city: 'Wilmslow',
        postcode: 'SK9 2BN',
      },
      bob,
    );
    await book.insert(
      { name: 'Katherine Johnson', city: 'Hampton', postcode: '23666', tel: '+1 757 555 0164' },
      alice,
    );
    const dup = await book.insert({ name: 'Ada Lovelace', city: 'London' }, bob);
    await book.delete(dup.entryId, { ...alice, reason: 'duplicate of the first Ada Lovelace entry' });
  });
  // Someone who asked to be forgotten, already erased: only who, when and why remain.
  const book = db.table(addresses);
  const charles = await book.insert(
    { name: 'Charles Babbage', city: 'London', tel: '+44 20 7946 0442' },
    { actor: bobId },
  );
  await book.forget(charles.entryId, {
    actor: aliceId,
    reason: 'erasure request #1 (by e-mail)',
    after: '0 seconds',
  });
  await db.purge();
  return demo;
}

/** 12 characters from 72 random bits: easy to type from a terminal, impossible to guess. */
function randomPassword(): string {
  return randomBytes(9).toString('base64url');
}
