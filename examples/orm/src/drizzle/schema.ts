import { sql } from 'drizzle-orm';
import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The view `addresses`, declared as the table it behaves as (PostgreSQL updates a simple view
 * in place). The columns appendlog sets are `generatedAlwaysAs`, which Drizzle leaves out of
 * insert and update types: readable, never written.
 */
export const addresses = pgTable('addresses', {
  entryId: uuid('entry_id').primaryKey().defaultRandom(),
  version: integer('version').notNull().generatedAlwaysAs(sql`version`),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().generatedAlwaysAs(sql`created_at`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().generatedAlwaysAs(sql`updated_at`),
  name: text('name').notNull(),
  addressLine1: text('address_line_1'),
  city: text('city'),
  postcode: text('postcode'),
  tel: text('tel'),
});
