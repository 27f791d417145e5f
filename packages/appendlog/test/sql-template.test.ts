import { describe, expect, it } from 'vitest';
import { pageSql } from '../src/api/list-query.js';
import { compileSql, sql } from '../src/sql/template.js';

// Pure unit tests: SQL builders checked as text and parameters, no database.
describe('sql template', () => {
  it('numbers parameters in order, after the ones a raw base already numbers', () => {
    const city = 'Oslo';
    const where = sql`l.city = ${city}::text AND l.n > ${3}`;
    expect(
      compileSql(sql`${sql.raw('SELECT * FROM t l WHERE l.at <= $1')} AND ${where}`, ['2026-01-01']),
    ).toEqual({
      text: 'SELECT * FROM t l WHERE l.at <= $1 AND l.city = $2::text AND l.n > $3',
      params: ['2026-01-01', 'Oslo', 3],
    });
  });

  it('gives one number to a parameter used twice, and a new one to an equal value', () => {
    const id = sql.param('a');
    expect(compileSql(sql`${id} = ${id} OR x = ${'a'}`)).toEqual({
      text: '$1 = $1 OR x = $2',
      params: ['a', 'a'],
    });
  });

  it('quotes identifiers, joins fragments and splices raw text as it is', () => {
    const cols = sql.join([sql.id('name'), sql.id('Odd"col')]);
    expect(compileSql(sql`SELECT ${cols} FROM ${sql.id('s', 't')}${sql.empty}`).text).toBe(
      'SELECT "name", "Odd""col" FROM "s"."t"',
    );
    expect(compileSql(sql.join([], ' AND ')).text).toBe('');
  });

  it('pageSql writes the limit in (with a peek row) and binds the offset', () => {
    expect(compileSql(pageSql({ limit: 50, offset: 100 }, true))).toEqual({
      text: ' LIMIT 51 OFFSET $1',
      params: [100],
    });
    expect(compileSql(pageSql({})).text).toBe('');
    expect(() => pageSql({ limit: -1 })).toThrow(/limit must be a non-negative integer/);
  });
});
