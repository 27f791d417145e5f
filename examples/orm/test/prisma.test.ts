import { PrismaPg } from '@prisma/adapter-pg';
import { toAppendLogError } from 'appendlog';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrismaClient } from '../generated/prisma/client.js';
import { PrismaClient as LedgerClient } from '../generated/prisma-ledger/client.js';
import { addresses } from '../src/tables.js';
import { describePostgres, freshDatabase, type ScenarioDb } from './support.js';

describePostgres('Prisma (driver adapter for pg) through the view', () => {
  let s: ScenarioDb;
  let prisma: PrismaClient;
  let id: string;

  beforeAll(async () => {
    s = await freshDatabase('orm_prisma');
    prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: s.url }) });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await s?.drop();
  });

  it('creates, returning what appendlog assigned', async () => {
    const created = await prisma.address.create({ data: { name: 'Ada', city: 'Oslo' } });
    expect(created).toMatchObject({ name: 'Ada', city: 'Oslo', version: 1, addressLine1: null });
    expect(created.createdAt).toBeInstanceOf(Date);
    id = created.entryId;
  });

  it('updates with optimistic locking: the version read is the condition, a stale one counts no row', async () => {
    const updated = await prisma.address.updateMany({
      where: { entryId: id, version: 1 },
      data: { city: 'Bergen' },
    });
    expect(updated.count).toBe(1);
    const stale = await prisma.address.updateMany({
      where: { entryId: id, version: 1 },
      data: { city: 'Trondheim' },
    });
    expect(stale.count).toBe(0);
    expect(await prisma.address.findUnique({ where: { entryId: id } })).toMatchObject({
      city: 'Bergen',
      version: 2,
    });
  });

  it('deletes with a reason set by appendlog_context in an interactive transaction', async () => {
    const deleted = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT appendlog_context(actor => ${'prisma-user'}, reason => ${'moved away'})`;
      return tx.address.delete({ where: { entryId: id } });
    });
    expect(deleted).toMatchObject({ entryId: id, city: 'Bergen' });
    expect(await prisma.address.findUnique({ where: { entryId: id } })).toBeNull();
  });

  it('the history reads back through appendlog, and the log verifies', async () => {
    const history = await s.db.table(addresses).history(id);
    expect(history.map((v) => [v.version, v.op, v.data.city])).toEqual([
      [1, 'insert', 'Oslo'],
      [2, 'update', 'Bergen'],
      [3, 'delete', 'Bergen'],
    ]);
    expect(history[2]).toMatchObject({ actor: 'prisma-user', reason: 'moved away' });
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('toAppendLogError reads the SQLSTATE off the driver adapter error inside Prisma’s', async () => {
    const bo = await prisma.address.create({ data: { name: 'Bo' } });
    const err = await prisma.address.delete({ where: { entryId: bo.entryId } }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'PrismaClientKnownRequestError',
      meta: { driverAdapterError: { cause: { originalCode: 'AL002' } } },
    });
    expect(toAppendLogError(err)).toMatchObject({ code: 'reason_required', sqlState: 'AL002', cause: err });
  });
});

// The own-schema layout: appendlog's view in `ledger` (connect({ schema: 'ledger' })), the model
// placed there with `schemas` and `@@schema` (prisma/own-schema/schema.prisma).
describePostgres('Prisma with appendlog in a schema of its own', () => {
  let s: ScenarioDb;
  let prisma: LedgerClient;

  beforeAll(async () => {
    s = await freshDatabase('orm_prisma_ledger', { schema: 'ledger' });
    prisma = new LedgerClient({ adapter: new PrismaPg({ connectionString: s.url }) });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await s?.drop();
  });

  it('writes ledger.addresses and deletes with ledger.appendlog_context', async () => {
    const created = await prisma.address.create({ data: { name: 'Ada', city: 'Oslo' } });
    const updated = await prisma.address.updateMany({
      where: { entryId: created.entryId, version: 1 },
      data: { city: 'Bergen' },
    });
    expect(updated.count).toBe(1);
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT ledger.appendlog_context(reason => ${'moved away'})`;
      await tx.address.delete({ where: { entryId: created.entryId } });
    });
    const history = await s.db.table(addresses).history(created.entryId);
    expect(history.map((v) => [v.op, v.data.city, v.reason])).toEqual([
      ['insert', 'Oslo', null],
      ['update', 'Bergen', null],
      ['delete', 'Bergen', 'moved away'],
    ]);
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 3 });
  });
});

// The writes the chain trigger decides: a duplicate id, a restore and an upsert.
describePostgres('Prisma: duplicate ids, restore and upsert', () => {
  let s: ScenarioDb;
  let prisma: PrismaClient;

  beforeAll(async () => {
    s = await freshDatabase('orm_prisma_writes');
    prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: s.url }) });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await s?.drop();
  });

  it('a duplicate entryId is 23505, P2002 in Prisma (not P2034 "write conflict, retry"), and toAppendLogError says duplicate', async () => {
    const ada = await prisma.address.create({ data: { name: 'Ada' } });
    const err = await prisma.address
      .create({ data: { entryId: ada.entryId, name: 'Again' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PrismaClientKnownRequestError', code: 'P2002' });
    expect(toAppendLogError(err)).toMatchObject({ code: 'duplicate', sqlState: '23505' });
  });

  it('restores a deleted entry with addresses_restore and upserts with addresses_upsert', async () => {
    const bo = await prisma.address.create({ data: { name: 'Bo', city: 'Oslo' } });
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT appendlog_context(reason => ${'mistake'})`;
      await tx.address.delete({ where: { entryId: bo.entryId } });
    });
    await prisma.$executeRaw`SELECT addresses_restore(${bo.entryId}::uuid, ${'not a mistake'})`;
    const rows = await prisma.$queryRaw<{ op: string; version: number }[]>`
      SELECT op, version FROM addresses_upsert(${JSON.stringify({ entry_id: bo.entryId, city: 'Bergen' })}::jsonb)`;
    expect(rows).toEqual([{ op: 'update', version: 4 }]);
    expect(await prisma.address.findUnique({ where: { entryId: bo.entryId } })).toMatchObject({
      city: 'Bergen',
      version: 4,
    });
    const history = await s.db.table(addresses).history(bo.entryId);
    expect(history.map((v) => v.op)).toEqual(['insert', 'delete', 'restore', 'update']);
    expect(await s.db.verify()).toMatchObject({ ok: true });
  });
});
