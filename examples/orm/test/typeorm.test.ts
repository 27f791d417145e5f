import 'reflect-metadata';
import { toAppendLogError } from 'appendlog';
import { DataSource, OptimisticLockVersionMismatchError, type Repository } from 'typeorm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses } from '../src/tables.js';
import { Address, ManagedAddress } from '../src/typeorm/address.js';
import { describePostgres, freshDatabase, type ScenarioDb } from './support.js';

describePostgres('TypeORM through the view', () => {
  let s: ScenarioDb;
  let dataSource: DataSource;
  let repo: Repository<Address>;
  let id: string;

  beforeAll(async () => {
    s = await freshDatabase('orm_typeorm');
    dataSource = new DataSource({
      type: 'postgres',
      url: s.url,
      entities: [Address, ManagedAddress],
      synchronize: false,
    });
    await dataSource.initialize();
    repo = dataSource.getRepository(Address);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await s?.drop();
  });

  it('saves a new entity, which comes back with what appendlog assigned', async () => {
    const saved = await repo.save(repo.create({ name: 'Ada', city: 'Oslo' }));
    id = saved.entryId;
    const found = await repo.findOneByOrFail({ entryId: id });
    expect(found).toMatchObject({ name: 'Ada', city: 'Oslo', version: 1 });
    expect(found.createdAt).toBeInstanceOf(Date);
  });

  it('updates with optimistic locking: the version read is the condition, a stale one affects no row', async () => {
    const updated = await repo.update({ entryId: id, version: 1 }, { city: 'Bergen' });
    expect(updated.affected).toBe(1);
    const stale = await repo.update({ entryId: id, version: 1 }, { city: 'Trondheim' });
    expect(stale.affected).toBe(0);
    expect(await repo.findOneByOrFail({ entryId: id })).toMatchObject({ city: 'Bergen', version: 2 });
  });

  it('deletes with a reason set by appendlog_context in the transaction', async () => {
    const deleted = await dataSource.transaction(async (manager) => {
      await manager.query('SELECT appendlog_context(actor => $1, reason => $2)', [
        'typeorm-user',
        'moved away',
      ]);
      return manager.delete(Address, { entryId: id });
    });
    expect(deleted.affected).toBe(1);
    expect(await repo.findOneBy({ entryId: id })).toBeNull();
  });

  it('the history reads back through appendlog, and the log verifies', async () => {
    const history = await s.db.table(addresses).history(id);
    expect(history.map((v) => [v.version, v.op, v.data.city])).toEqual([
      [1, 'insert', 'Oslo'],
      [2, 'update', 'Bergen'],
      [3, 'delete', 'Bergen'],
    ]);
    expect(history[2]).toMatchObject({ actor: 'typeorm-user', reason: 'moved away' });
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('@VersionColumn and @UpdateDateColumn: save() sends version = version + 1 and a time, appendlog keeps its own', async () => {
    const managed = dataSource.getRepository(ManagedAddress);
    const saved = await managed.save(managed.create({ name: 'Cy', city: 'Oslo' }));
    expect(saved.version).toBe(1);
    saved.city = 'Bergen';
    const resaved = await managed.save(saved);
    expect(resaved.version).toBe(2);
    const history = await s.db.table(addresses).history(saved.entryId);
    expect(history.map((v) => [v.version, v.op, v.data.city])).toEqual([
      [1, 'insert', 'Oslo'],
      [2, 'update', 'Bergen'],
    ]);
    expect(resaved.updatedAt.getTime()).toBe(history[1]!.recordedAt.getTime());
    // TypeORM's optimistic lock is a check on read: a version read earlier no longer matches.
    await expect(
      managed.findOne({ where: { entryId: saved.entryId }, lock: { mode: 'optimistic', version: 1 } }),
    ).rejects.toBeInstanceOf(OptimisticLockVersionMismatchError);
  });

  it('toAppendLogError reads the SQLSTATE off the driverError of TypeORM’s QueryFailedError', async () => {
    const saved = await repo.save(repo.create({ name: 'Bo' }));
    const err = await repo.delete({ entryId: saved.entryId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'QueryFailedError', driverError: { code: 'AL002' } });
    expect(toAppendLogError(err)).toMatchObject({ code: 'reason_required', sqlState: 'AL002', cause: err });
  });

  it('a duplicate entry_id is 23505 (duplicate); a deleted entry comes back with addresses_restore; addresses_upsert patches it', async () => {
    const saved = await repo.save(repo.create({ name: 'Cy' }));
    const dup = await repo.insert({ entryId: saved.entryId, name: 'Cy again' }).catch((e: unknown) => e);
    expect(dup).toMatchObject({ name: 'QueryFailedError', driverError: { code: '23505' } });
    expect(toAppendLogError(dup)).toMatchObject({ code: 'duplicate' });
    await dataSource.transaction(async (em) => {
      await em.query(`SELECT appendlog_context(reason => $1)`, ['moved']);
      await em.delete(Address, { entryId: saved.entryId });
    });
    await dataSource.query(`SELECT addresses_restore($1, $2)`, [saved.entryId, 'back']);
    const up = await dataSource.query(`SELECT op, version FROM addresses_upsert($1::jsonb)`, [
      JSON.stringify({ entry_id: saved.entryId, city: 'Bodø' }),
    ]);
    expect(up).toEqual([{ op: 'update', version: 4 }]);
    expect((await s.db.table(addresses).history(saved.entryId)).map((v) => v.op)).toEqual([
      'insert',
      'delete',
      'restore',
      'update',
    ]);
  });
});
