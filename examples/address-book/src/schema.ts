import { column as c, table } from 'appendlog';

/** One person in the address book. Every change to it appends a version to `addresses_log`. */
export const addresses = table('addresses', {
  name: c.text().notNull(),
  addressLine1: c.text(), // SQL column address_line_1
  city: c.text(),
  postcode: c.text(),
  tel: c.text(),
});

/** The editable fields, in the order the forms show them, with their labels. */
export const FIELDS = [
  { key: 'name', label: 'Name' },
  { key: 'addressLine1', label: 'Address' },
  { key: 'city', label: 'City' },
  { key: 'postcode', label: 'Postcode' },
  { key: 'tel', label: 'Telephone' },
] as const;

export type Person = typeof addresses.$inferData;
export type FieldKey = (typeof FIELDS)[number]['key'];
