/**
 * The search_path of the shared catalog functions and of the transactions the owner's tools
 * open (migrate, purge, checkpoint, verify, export): pg_catalog, then the session's own
 * temporary schema, searched last. No schema another role can create objects in is on it, so
 * no operator, function or type in that SQL can resolve to one they planted. See "search_path"
 * in docs/architecture.md.
 */
export const TRUSTED_SEARCH_PATH = 'pg_catalog, pg_temp';

/**
 * Pins the search_path to {@link TRUSTED_SEARCH_PATH} for the rest of the transaction and
 * returns the one it replaces (`path`), to put back with {@link RESTORE_SEARCH_PATH_SQL}.
 */
export const PIN_SEARCH_PATH_SQL = `WITH saved AS MATERIALIZED (SELECT pg_catalog.current_setting('search_path') AS path)
SELECT saved.path, pg_catalog.set_config('search_path', '${TRUSTED_SEARCH_PATH}', true) FROM saved`;

/** Puts back (`$1`) the search_path {@link PIN_SEARCH_PATH_SQL} replaced, for the rest of the transaction. */
export const RESTORE_SEARCH_PATH_SQL = `SELECT pg_catalog.set_config('search_path', $1, true)`;

/**
 * The pg_catalog operator `symbol`, spelled so that no operator on the search_path can stand in
 * for it: `OPERATOR(pg_catalog.~~)`. For SQL that runs on the caller's search_path, where an
 * operand's type has no exact match in pg_catalog (a `name` before `LIKE` or `||`, an untyped
 * literal after a jsonb operator), and an operator of the same name with an exact match, in any
 * schema on the path, would win. The form has the precedence of any other operator: parenthesise.
 */
export function op(symbol: string): string {
  return `OPERATOR(pg_catalog.${symbol})`;
}
