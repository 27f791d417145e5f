import { integer, pgView, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * What `drizzle-kit pull` and a careless schema file give: the view as an existing view, and
 * nothing of the log, the head or appendlog's catalog. `drizzle-kit push --force` with this
 * file drops all of those; the DDL guard refuses it (test/drizzle-kit.test.ts).
 */
export const addresses = pgView('addresses', {
  entryId: uuid('entry_id').notNull(),
  version: integer('version').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  name: text('name').notNull(),
  addressLine1: text('address_line_1'),
  city: text('city'),
  postcode: text('postcode'),
  tel: text('tel'),
}).existing();
