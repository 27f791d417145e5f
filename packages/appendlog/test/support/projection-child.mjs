// A projection process for test/projection-crash.test.ts, killed with SIGKILL at random moments.
// It imports the built library (run `npm run build` first) and prints JSON lines on stdout:
//   {"ready":true}      connected; waits for "go" on stdin, then runs the projection until killed
//   {"failed":{...}}    the projection stopped with an error; exit code 1
// argv[2] is a JSON config: { url, schema, role }; with `role`, every connection acts as that role.
import { writeSync } from 'node:fs';
import pg from 'pg';
import { connect } from '../../dist/index.js';

const config = JSON.parse(process.argv[2]);
const emit = (line) => writeSync(1, `${JSON.stringify(line)}\n`);

const pool = new pg.Pool({
  connectionString: config.url,
  max: 2,
  options: `-c search_path=${config.schema}${config.role ? ` -c role=${config.role}` : ''}`,
});
const db = await connect({ client: pool, schema: config.schema });
if (typeof db.projection !== 'function') {
  emit({ failed: { message: 'dist/ is older than the source: run npm run build' } });
  process.exit(1);
}

// The same projection as projectionCounting() in projection-crash.test.ts.
const counts = db.projection('crash-counts', {
  batchSize: 7,
  interval: 20,
  async apply(set, tx) {
    for (const v of set.versions) {
      await tx.query('INSERT INTO proj_seen (table_name, entry_id, version) VALUES ($1, $2, $3)', [
        v.table,
        v.entryId,
        v.version,
      ]);
      await tx.query(
        `INSERT INTO proj_counts (table_name, op, n) VALUES ($1, $2, 1)
         ON CONFLICT (table_name, op) DO UPDATE SET n = proj_counts.n + 1`,
        [v.table, v.op],
      );
    }
  },
});

emit({ ready: true });
await new Promise((resolve) => process.stdin.once('data', resolve));
const run = counts.start();
try {
  await run.done;
} catch (err) {
  emit({ failed: { code: err.code, message: err.message } });
  process.exit(1);
}
