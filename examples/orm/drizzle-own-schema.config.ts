import { defineConfig } from 'drizzle-kit';

// The own-schema layout (docs/sql-and-orms.md): appendlog in `ledger`, drizzle-kit kept to public.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/drizzle/app-schema.ts',
  schemaFilter: ['public'],
  dbCredentials: { url: process.env.DRIZZLE_URL ?? '' },
});
