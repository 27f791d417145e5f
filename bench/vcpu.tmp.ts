import { connect } from 'appendlog';

const db = await connect({ url: process.env.DATABASE_URL!, schema: 'bench_verify' });
for (let i = 0; i < 4; i++) {
  const t = Date.now();
  const c0 = process.cpuUsage();
  const r = await db.verify({ tables: ['bench_verify'] });
  const c = process.cpuUsage(c0);
  console.log(
    r.ok,
    r.checked,
    'wall',
    Date.now() - t,
    'ms; node cpu',
    ((c.user + c.system) / 1000).toFixed(0),
    'ms',
  );
}
await db.close();
