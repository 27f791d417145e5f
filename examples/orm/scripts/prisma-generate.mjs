// Generates the Prisma client (into generated/, not committed) without Prisma's schema engine.
// `prisma generate` only asks the engine for its version; the engine itself is a download from
// Prisma's servers, which this project's machines cannot reach. So a stub answers the version
// question with the version of @prisma/engines-version and refuses everything else: nothing here
// may run `prisma migrate` or `db push` (appendlog's migrate owns the schema).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { enginesVersion } = require('@prisma/engines-version');
const dir = mkdtempSync(join(tmpdir(), 'prisma-engine-stub-'));
const stub = join(dir, 'schema-engine');
writeFileSync(
  stub,
  `#!/bin/sh
case "$1" in
  --version|-V) echo "schema-engine-cli ${enginesVersion}" ;;
  *) echo "this schema-engine is a stub for prisma generate; appendlog's migrate owns the schema" >&2; exit 1 ;;
esac
`,
);
chmodSync(stub, 0o755);
try {
  // The default layout (prisma.config.ts), then the own-schema one.
  for (const schema of [[], ['--schema', 'prisma/own-schema/schema.prisma']]) {
    const result = spawnSync('npx', ['prisma', 'generate', ...schema], {
      stdio: 'inherit',
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: stub,
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
        CHECKPOINT_DISABLE: '1',
      },
    });
    if (result.status !== 0) {
      process.exitCode = result.status ?? 1;
      break;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
