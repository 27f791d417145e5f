/**
 * Splits a script of SQL statements at its top-level semicolons, each statement kept verbatim
 * (blank ones dropped). Semicolons inside quoted text (`'…'`, `E'…'` with its backslash escapes,
 * `"…"`), dollar-quoted bodies (`$fn$…$fn$`) and comments do not split.
 *
 * Migrations run their scripts one statement at a time because Citus forwards some DDL to its
 * workers as the whole query text it arrived in, which the workers refuse when that text holds
 * several statements ("cannot insert multiple commands into a prepared statement").
 *
 * @example
 * splitScript(`CREATE TABLE t (a text DEFAULT ';');\nCREATE FUNCTION f() … AS $fn$ BEGIN; END $fn$;`);
 * // → ["CREATE TABLE t (a text DEFAULT ';')", "CREATE FUNCTION f() … AS $fn$ BEGIN; END $fn$"]
 */
export function splitScript(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const statement = script.slice(start, end).trim();
    if (statement !== '' && !onlyComments(statement)) statements.push(statement);
    start = end + 1;
  };
  while (i < script.length) {
    const ch = script[i]!;
    if (ch === ';') {
      push(i);
      i++;
    } else if (ch === "'") {
      i = quotedEnd(script, i, isEscapeString(script, i));
    } else if (ch === '"') {
      i = quotedEnd(script, i, false);
    } else if (ch === '-' && script[i + 1] === '-') {
      const eol = script.indexOf('\n', i);
      i = eol < 0 ? script.length : eol + 1;
    } else if (ch === '/' && script[i + 1] === '*') {
      i = blockCommentEnd(script, i);
    } else if (ch === '$') {
      i = dollarQuotedEnd(script, i);
    } else {
      i++;
    }
  }
  push(script.length);
  return statements;
}

/** `E'…'`: the quote follows an `E` that is a whole token (not the end of an identifier). */
function isEscapeString(script: string, quote: number): boolean {
  const prev = script[quote - 1];
  return (prev === 'E' || prev === 'e') && !/[\w$]/.test(script[quote - 2] ?? '');
}

/** The index after a quoted run starting at `open` (its quote doubled inside, or escaped by a backslash in E''). */
function quotedEnd(script: string, open: number, backslashEscapes: boolean): number {
  const quote = script[open]!;
  let i = open + 1;
  while (i < script.length) {
    const ch = script[i]!;
    if (backslashEscapes && ch === '\\') i += 2;
    else if (ch === quote && script[i + 1] === quote) i += 2;
    else if (ch === quote) return i + 1;
    else i++;
  }
  return script.length;
}

/** The index after a (nestable) block comment starting at `open`. */
function blockCommentEnd(script: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < script.length) {
    if (script[i] === '/' && script[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (script[i] === '*' && script[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return script.length;
}

/** The index after a dollar-quoted body starting at `open`, or after the `$` when it opens none (`$1`). */
function dollarQuotedEnd(script: string, open: number): number {
  // A tag never starts with a digit, and a `$` inside an identifier (`a$b`) opens nothing.
  const tag = /^\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(script.slice(open, open + 64));
  if (tag === null || /[\w$]/.test(script[open - 1] ?? '')) return open + 1;
  const close = script.indexOf(tag[0], open + tag[0].length);
  return close < 0 ? script.length : close + tag[0].length;
}

/** Whether a statement's text is comments only (what is left of a script's trailing comment). */
function onlyComments(statement: string): boolean {
  let i = 0;
  while (i < statement.length) {
    if (statement[i] === '-' && statement[i + 1] === '-') {
      const eol = statement.indexOf('\n', i);
      i = eol < 0 ? statement.length : eol + 1;
    } else if (statement[i] === '/' && statement[i + 1] === '*') {
      i = blockCommentEnd(statement, i);
    } else if (/\s/.test(statement[i]!)) {
      i++;
    } else {
      return false;
    }
  }
  return true;
}
