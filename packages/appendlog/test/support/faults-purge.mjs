// A purge process for test/faults.test.ts, to be killed mid-batch or run beside another one.
// It imports the built library (run `npm run build` first). JSON lines on stdout:
//   {"ready":true}                         connected; waits for "go" on stdin
//   {"purged":{entryIds,more}}             db.purge() returned; exit code 0
//   {"failed":{code,message}}              it threw; exit code 1
//
// argv[2] is a JSON config: { url, schema, name, batchSize }.
import { writeSync } from 'node:fs';
import { connect } from '../../dist/index.js';

const config = JSON.parse(process.argv[2]);
const emit = (line) => writeSync(1, `${JSON.stringify(line)}\n`);

try {
  const db = await connect({
    url: config.url,
    schema: config.schema,
    pool: { max: 1, application_name: config.name },
  });
  emit({ ready: true });
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const result = await db.purge({ batchSize: config.batchSize });
  emit({ purged: { entryIds: result.erased.map((e) => e.entryId), more: result.more } });
  await db.close();
  process.exit(0);
} catch (err) {
  emit({ failed: { code: err?.code ?? null, message: String(err?.message ?? err) } });
  process.exit(1);
}
