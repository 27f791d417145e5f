import { pgTable, serial, text } from 'drizzle-orm/pg-core';

/** The application's own tables, in public; appendlog's live in the schema `ledger`. */
export const notes = pgTable('notes', {
  id: serial('id').primaryKey(),
  body: text('body').notNull(),
});
