import { defineConfig } from 'drizzle-kit';

// For test/drizzle-kit.test.ts, which passes the database in DRIZZLE_URL.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/drizzle/view-schema.ts',
  dbCredentials: { url: process.env.DRIZZLE_URL ?? '' },
});
