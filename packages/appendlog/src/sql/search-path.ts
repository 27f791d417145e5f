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
