import type { ColumnType, Generated } from 'kysely';

/** A column appendlog sets: readable, never written by the application. */
type ReadOnly<T> = ColumnType<T, never, never>;

/** The view `addresses`: the live entries, one row each. */
export interface AddressesView {
  entry_id: ColumnType<string, string | undefined, never>;
  version: ReadOnly<number>;
  created_at: ReadOnly<Date>;
  updated_at: ReadOnly<Date>;
  name: string;
  address_line_1: string | null;
  city: string | null;
  postcode: string | null;
  tel: string | null;
}

export interface DB {
  addresses: AddressesView;
}

export type { Generated };
