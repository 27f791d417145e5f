import { column as c, table } from '../../src/index.js';

export const addresses = table('addresses', {
  name: c.text().notNull(),
  addressLine1: c.text(),
  city: c.text(),
  postcode: c.text(),
  tel: c.text(),
});

/** Every column type, for codec and hash tests. */
export const kitchen = table('kitchen', {
  label: c.text().notNull(),
  count: c.integer(),
  big: c.bigint(),
  price: c.numeric(),
  active: c.boolean(),
  born: c.date(),
  seenAt: c.timestamptz(),
  doc: c.jsonb<{ tags?: string[]; n?: number }>(),
  ref: c.uuid(),
});
