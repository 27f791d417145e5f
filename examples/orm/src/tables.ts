import { column as c, table } from 'appendlog';

/** The table every scenario writes, through the view `addresses` that `migrate` makes. */
export const addresses = table('addresses', {
  name: c.text().notNull(),
  addressLine1: c.text(),
  city: c.text(),
  postcode: c.text(),
  tel: c.text(),
});
