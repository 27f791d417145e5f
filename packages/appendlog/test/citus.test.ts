import { afterAll, describe } from 'vitest';
import { rowsSuite } from './citus/rows-suite.js';
import { tenantSuite } from './citus/tenant-suite.js';
import { citusCluster, citusDir } from './support/citus.js';

/**
 * The scale-out suites on Citus (docs/scale-out.md), one after the other in this one file: one
 * schema per tenant (citus/tenant-suite.ts), then row-sharded tables (citus/rows-suite.ts). One
 * file, so that they never run at once: the change feed's horizon on a worker is that worker's,
 * and one suite's open transactions would hold back what the other's feed may hand out.
 *
 * The cluster is `cluster.sh start`'s (coordinator 5601, workers 5602 and 5603): one already
 * running is used as it is; when Citus is installed but no cluster runs, this file starts one and
 * stops it afterwards. Without Citus the file is skipped with a notice, unless
 * APPENDLOG_REQUIRE_CITUS=1 (CI), which fails it.
 */
const cluster = await citusCluster();
const required = process.env.APPENDLOG_REQUIRE_CITUS === '1';

if (typeof cluster !== 'string') {
  describe('schema-per-tenant on Citus [citus]', tenantSuite);
  describe('row-sharded tables on Citus [citus]', rowsSuite);
  afterAll(() => cluster.release(), 120_000);
} else if (required) {
  throw new Error(`APPENDLOG_REQUIRE_CITUS=1 but the Citus tests cannot run: ${cluster}`);
} else {
  console.warn(
    `\n*** Citus tests SKIPPED: ${cluster}. Build and start it with ${citusDir}/cluster.sh start (ports 5601-5603). ***\n`,
  );
  describe.skip(`schema-per-tenant and row-sharded tables on Citus [citus] (skipped: ${cluster})`, () => {
    tenantSuite();
    rowsSuite();
  });
}
