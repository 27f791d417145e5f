import { describe, expect, it } from 'vitest';
import { catalogScript } from '../src/migrate/catalog-upgrade.js';
import { splitScript } from '../src/sql/split-script.js';
import { codeDdl, createStorageDdl } from '../src/sql/table-ddl.js';

// Pure unit tests: migrate runs its scripts through splitScript one statement at a time (Citus
// forwards some DDL as the whole text it came in); every migrate of the suite runs it too.
describe('splitScript', () => {
  it('splits at top-level semicolons and drops blank and comment-only pieces', () => {
    expect(splitScript('CREATE TABLE a (x int);\n\n  SELECT 1 ;;\n-- the end\n')).toEqual([
      'CREATE TABLE a (x int)',
      'SELECT 1',
    ]);
    expect(splitScript('')).toEqual([]);
    expect(splitScript('SELECT 2')).toEqual(['SELECT 2']);
  });

  it('keeps semicolons inside strings, identifiers, comments and dollar-quoted bodies', () => {
    const script = [
      `COMMENT ON TABLE t IS 'a; b''; c'`,
      `SELECT E'it\\'s; fine', "odd;name" FROM t`,
      `-- a comment; not a statement\nSELECT /* also; /* nested; */ not */ 3`,
      `CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN PERFORM $q$;$q$; RETURN 1; END $fn$`,
      `SELECT $1::text, a$b FROM t WHERE x = $2`,
    ];
    expect(splitScript(`${script.join(';\n')};`)).toEqual(script);
  });

  it('does not take a quote after an identifier ending in E for an escape string', () => {
    expect(splitScript(`SELECT some' \\';x'; SELECT 2`)).toEqual([`SELECT some' \\'`, `x'; SELECT 2`]);
  });

  it('splits the generated scripts into as many statements as they hold', () => {
    const columns = [{ sqlName: 'name', type: 'text', notNull: true }] as never;
    for (const script of [
      catalogScript('s'),
      createStorageDdl('s', 't', columns),
      codeDdl('s', 't', columns),
    ]) {
      const statements = splitScript(script);
      expect(statements.length).toBeGreaterThan(1);
      // Each piece is one statement: it starts with a command word (after its own comments).
      for (const st of statements) {
        expect(st.replace(/^(--[^\n]*\n\s*)+/, '')).toMatch(
          /^(CREATE|ALTER|DROP|GRANT|REVOKE|COMMENT|DO|SELECT|INSERT|UPDATE|SET|LOCK)\b/,
        );
      }
      expect(statements.join(';\n')).not.toMatch(/;\s*$/);
    }
  });
});
