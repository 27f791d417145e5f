import type { TableDef } from '../schema/table.js';

/**
 * Memoises SQL built from a table definition and a schema: statements are generated once per
 * (definition, schema) pair and dropped with the definition.
 *
 * @example
 * const getSql = perTable((def, schema) => `SELECT … FROM "${schema}"."${def.name}_head" …`);
 * const sql = getSql(addresses, 'public'); // built on first use, then reused
 */
export function perTable<T>(
  build: (def: TableDef, schema: string) => T,
): (def: TableDef, schema: string) => T {
  const cache = new WeakMap<TableDef, Map<string, T>>();
  return (def, schema) => {
    let bySchema = cache.get(def);
    if (!bySchema) {
      bySchema = new Map();
      cache.set(def, bySchema);
    }
    let value = bySchema.get(schema);
    if (value === undefined) {
      value = build(def, schema);
      bySchema.set(schema, value);
    }
    return value;
  };
}
