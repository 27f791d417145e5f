import { quoteIdent } from '../schema/names.js';

/** A statement's parameter; the same `Param` used twice is one `$n`. */
export class Param {
  constructor(readonly value: unknown) {}
}

/**
 * A piece of SQL as a value: text and parameters in order, numbered only when the whole statement
 * is compiled ({@link compileSql}), so builders return fragments instead of pushing values into a
 * caller's array and counting its length.
 */
export class Sql {
  /** @internal */
  constructor(readonly parts: readonly (string | Param | Sql)[]) {}
}

/**
 * Builds a {@link Sql} fragment: interpolated `Sql` fragments are spliced in, anything else becomes
 * a parameter (a {@link Param} keeps its identity: one `$n` however often it appears).
 *
 * @example
 * const byCity = sql`l.city = ${city}::text`;
 * compileSql(sql`SELECT * FROM t l WHERE ${byCity} LIMIT 10`); // { text: '… l.city = $1::text …', params: [city] }
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const parts: (string | Param | Sql)[] = [];
  strings.forEach((s, i) => {
    if (s !== '') parts.push(s);
    if (i < values.length) {
      const v = values[i];
      parts.push(v instanceof Sql || v instanceof Param ? v : new Param(v));
    }
  });
  return new Sql(parts);
}

/** Trusted SQL text, spliced in as it is: generated expressions, keywords, numbers the code checked. */
sql.raw = (text: string): Sql => new Sql([text]);

/** A possibly qualified identifier, each part quoted: `sql.id('public', 'addresses_head')`. */
sql.id = (...names: string[]): Sql => new Sql([names.map(quoteIdent).join('.')]);

/** A parameter to use more than once as one `$n`. */
sql.param = (value: unknown): Param => new Param(value);

/** The fragments joined by `separator` (`, ` by default); empty when there are none. */
sql.join = (items: readonly Sql[], separator: Sql | string = ', '): Sql => {
  const sep = typeof separator === 'string' ? sql.raw(separator) : separator;
  return new Sql(items.flatMap((item, i) => (i === 0 ? [item] : [sep, item])));
};

/** No SQL at all. */
sql.empty = new Sql([]);

/**
 * The text and parameters of `statement`. `leading` are the values of `$1…$k` that raw text in
 * it already numbers (a statement text cached per table, say); the fragment's own parameters
 * are numbered after them.
 */
export function compileSql(
  statement: Sql,
  leading: readonly unknown[] = [],
): { text: string; params: unknown[] } {
  const params = [...leading];
  const numbers = new Map<Param, number>();
  let text = '';
  const walk = (s: Sql): void => {
    for (const part of s.parts) {
      if (typeof part === 'string') text += part;
      else if (part instanceof Sql) walk(part);
      else {
        let n = numbers.get(part);
        if (n === undefined) {
          params.push(part.value);
          n = params.length;
          numbers.set(part, n);
        }
        text += `$${n}`;
      }
    }
  };
  walk(statement);
  return { text, params };
}
