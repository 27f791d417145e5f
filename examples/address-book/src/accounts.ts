import { createHash, randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { column as c, type Database, InvalidInputError, table, tableObjects } from 'appendlog';
import { ident, plainTable } from './ident.js';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/**
 * An account: who a person is in the app. Profile and role live in an appendlog table, so every
 * change to them (a promotion, a new display name) is a version with its actor and reason like
 * any person's. The password hash and the sessions do not: they are secrets, not history (a log
 * would keep every old hash forever), so they live in two ordinary tables beside it.
 */
export const accounts = table('accounts', {
  login: c.text().notNull(),
  displayName: c.text().notNull(),
  role: c.text().notNull(),
});

export type Role = 'viewer' | 'editor' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'editor', 'admin'];

/** What each role may do, for the pages that explain it. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'reads people, their history and time travel',
  editor: 'also adds, edits, deletes, restores and reverts people',
  admin: 'also forgets people, runs erasure and integrity checks, and manages accounts',
};

/** True when `role` grants at least what `min` grants. */
export function atLeast(role: Role, min: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(min);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export interface Account {
  /** The account's entry id: stable, and what the log records as `actor`. */
  id: string;
  login: string;
  displayName: string;
  role: Role;
}

/** How long a session lasts without signing in again. */
export const SESSION_DAYS = 30;

// scrypt at N = 2^15, r = 8: 32 MiB and about 0.4 s per hash on this project's 2-core test machine
// under load (1.4 s at OWASP's 2^17). A production server may raise it with ADDRESS_BOOK_SCRYPT_N;
// the test suite lowers it to 2^10, as web frameworks use a fast hasher in tests. Each hash keeps
// its parameters, so a changed setting still verifies the hashes made before.
const KDF = { N: scryptCost(process.env.ADDRESS_BOOK_SCRYPT_N), r: 8, p: 1 } as const;

function scryptCost(value: string | undefined): number {
  if (value === undefined || value === '') return 2 ** 15;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1024 || (n & (n - 1)) !== 0) {
    throw new Error(`ADDRESS_BOOK_SCRYPT_N must be a power of two, at least 1024 (got "${value}")`);
  }
  return n;
}
const KEY_BYTES = 32;

/** `scrypt$N$r$p$salt$key`, base64 parts. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, KEY_BYTES, { ...KDF, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', KDF.N, KDF.r, KDF.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(password.normalize('NFC'), Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

/** A hash nobody's password matches, checked for unknown logins so they take as long as known ones. */
let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}

/** Checks a login as typed: trimmed, lower-cased, 3 to 60 of letters, digits and `. _ - + @`. */
export function readLogin(value: unknown): { login: string } | { error: string } {
  if (typeof value !== 'string' || value.trim() === '') return { error: 'Please give a login' };
  const login = value.trim().toLowerCase();
  if (!/^[a-z0-9._+@-]{3,60}$/.test(login)) {
    return { error: 'A login is 3 to 60 letters, digits or . _ - + @ (an e-mail address works)' };
  }
  return { login };
}

/** A new password: 10 to 200 characters (NIST SP 800-63B asks for at least 8; length beats rules). */
export function readNewPassword(value: unknown): { password: string } | { error: string } {
  if (typeof value !== 'string' || value === '') return { error: 'Please choose a password' };
  const length = [...value].length;
  if (length < 10) return { error: 'A password needs at least 10 characters' };
  if (length > 200) return { error: 'A password holds at most 200 characters' };
  return { password: value };
}

/** A display name: 1 to 60 characters, no control characters. */
export function readDisplayName(value: unknown): { displayName: string } | { error: string } {
  if (typeof value !== 'string' || value.trim() === '') return { error: 'Please give a name to show' };
  const name = value.trim();
  if (/\p{Cc}/u.test(name)) return { error: 'Your name contains control characters' };
  if ([...name].length > 60) return { error: 'Your name is too long (at most 60 characters)' };
  return { displayName: name };
}

function plainTables(db: Database) {
  return { logins: plainTable(db, 'account_logins'), sessions: plainTable(db, 'account_sessions') };
}

/**
 * Creates what accounts need beside their appendlog table (migrate that with the others): the
 * password hashes and the sessions, two ordinary tables; with `appRole`, grants that role what the
 * app does with them and nothing more.
 */
export async function setUpAccountTables(db: Database, options: { appRole?: string } = {}): Promise<void> {
  const t = plainTables(db);
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${t.logins} (
       login text PRIMARY KEY,
       account_id uuid NOT NULL UNIQUE,
       password_hash text NOT NULL,
       changed_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE IF NOT EXISTS ${t.sessions} (
       token_hash bytea PRIMARY KEY,
       account_id uuid NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       expires_at timestamptz NOT NULL
     )`,
    `CREATE INDEX IF NOT EXISTS account_sessions_account_idx ON ${t.sessions} (account_id)`,
  ];
  if (options.appRole !== undefined) {
    const role = ident(options.appRole);
    statements.push(
      `GRANT SELECT, INSERT, UPDATE ON ${t.logins} TO ${role}`,
      `GRANT SELECT, INSERT, DELETE ON ${t.sessions} TO ${role}`,
    );
  }
  for (const sql of statements) await db.query(sql);
}

/** Why a sign-up or an account creation was refused, by form field. */
export type AccountErrors = Partial<Record<'login' | 'displayName' | 'password' | 'role', string>>;

/**
 * Accounts, passwords and sessions over one database. Reads of who is who go through a small
 * cache (`names`), refreshed after this process writes and at most every few seconds otherwise.
 */
export class AccountStore {
  readonly #db: Database;
  #names: { at: number; book: Promise<NameBook> } | null = null;

  private constructor(db: Database) {
    this.#db = db;
  }

  static readonly #stores = new WeakMap<Database, AccountStore>();

  /** The store of `db`: one per database handle, so that every write refreshes the same names. */
  static for(db: Database): AccountStore {
    let store = AccountStore.#stores.get(db);
    if (store === undefined) {
      store = new AccountStore(db);
      AccountStore.#stores.set(db, store);
    }
    return store;
  }

  /**
   * Creates an account. The first account of an empty database becomes admin whatever was asked
   * (someone has to manage the others); later ones get `role` (default viewer). `actor` is who
   * records the creation (the new account itself when it signs up).
   */
  async create(input: {
    login: unknown;
    displayName: unknown;
    password: unknown;
    role?: Role;
    actor?: string;
  }): Promise<{ account: Account } | { errors: AccountErrors }> {
    const errors: AccountErrors = {};
    const login = readLogin(input.login);
    const name = readDisplayName(input.displayName);
    const password = readNewPassword(input.password);
    if ('error' in login) errors.login = login.error;
    if ('error' in name) errors.displayName = name.error;
    if ('error' in password) errors.password = password.error;
    if ('error' in login || 'error' in name || 'error' in password) return { errors };
    const hash = await hashPassword(password.password);
    const t = plainTables(this.#db);
    const result = await this.#db.transaction(async (tx) => {
      // One sign-up at a time decides who is first, and whether a login is taken.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('address-book accounts'))`);
      const [taken] = await tx.query(`SELECT 1 FROM ${t.logins} WHERE login = $1`, [login.login]);
      if (taken) return { errors: { login: 'That login is taken; choose another, or sign in' } };
      const [any] = await tx.query(`SELECT 1 FROM ${t.logins} LIMIT 1`);
      const role: Role = any ? (input.role ?? 'viewer') : 'admin';
      // The account records its own creation unless someone else made it.
      const id = randomUUID();
      const v = await tx.table(accounts).insert(
        { login: login.login, displayName: name.displayName, role },
        {
          entryId: id,
          actor: input.actor ?? id,
          reason: any
            ? input.actor === undefined
              ? 'signed up'
              : 'account created'
            : 'first account: admin',
        },
      );
      await tx.query(`INSERT INTO ${t.logins} (login, account_id, password_hash) VALUES ($1, $2, $3)`, [
        login.login,
        v.entryId,
        hash,
      ]);
      return { account: { id: v.entryId, login: login.login, displayName: name.displayName, role } };
    });
    this.#names = null;
    return result;
  }

  /** The account whose login and password these are, or null (slow on purpose either way). */
  async authenticate(login: unknown, password: unknown): Promise<Account | null> {
    const checked = readLogin(login);
    const t = plainTables(this.#db);
    const [row] =
      'login' in checked
        ? await this.#db.query<{ account_id: string; password_hash: string }>(
            `SELECT account_id, password_hash FROM ${t.logins} WHERE login = $1`,
            [checked.login],
          )
        : [];
    const ok = await checkPassword(
      typeof password === 'string' ? password : '',
      row?.password_hash ?? (await dummyHash()),
    );
    if (!ok || row === undefined) return null;
    return this.get(row.account_id);
  }

  /** The account, as it is now, or null. */
  async get(id: string): Promise<Account | null> {
    const v = await this.#db.table(accounts).get(id);
    if (v === null || v.op === 'delete' || v.op === 'forget') return null;
    return toAccount(v.entryId, v.data);
  }

  /**
   * A page of the accounts by display name (then creation), `limit` at a time: the library's keyset
   * cursor, `next` null on the last page.
   */
  async page(options: {
    limit: number;
    after?: string | undefined;
  }): Promise<{ items: Account[]; next: string | null }> {
    const page = await this.#db
      .table(accounts)
      .list({ orderBy: 'displayName', limit: options.limit, after: options.after });
    return { items: page.map((v) => toAccount(v.entryId, v.data)), next: page.next };
  }

  /** Whether more than one account is an admin (reads two at most). */
  async severalAdmins(): Promise<boolean> {
    return (await this.#db.table(accounts).list({ where: { role: 'admin' }, limit: 2 })).length > 1;
  }

  /** Every account, by display name: for tests and tools; the pages read {@link page}. */
  async list(): Promise<Account[]> {
    const all: Account[] = [];
    let after: string | undefined;
    do {
      const { items, next } = await this.page({ limit: 500, after });
      all.push(...items);
      after = next ?? undefined;
    } while (after !== undefined);
    return all;
  }

  /** Gives an account another role; the change is a version with `actor` and `reason`. */
  async setRole(
    id: string,
    role: Role,
    context: { actor: string; reason: string; expectedVersion?: number },
  ) {
    if (!isRole(role)) throw new InvalidInputError(`role must be one of ${ROLES.join(', ')}`, 'role');
    const v = await this.#db.table(accounts).update(id, { role }, context);
    this.#names = null;
    return v;
  }

  /** Starts a session: the token for the cookie (only its hash is stored). */
  async startSession(accountId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const t = plainTables(this.#db);
    await this.#db.query(
      `INSERT INTO ${t.sessions} (token_hash, account_id, expires_at) VALUES ($1, $2, now() + make_interval(days => $3))`,
      [tokenHash(token), accountId, SESSION_DAYS],
    );
    return token;
  }

  /** The account a session token belongs to, or null when it is unknown, expired or not a token. */
  async sessionAccount(token: string | undefined): Promise<Account | null> {
    if (token === undefined || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    // Every request asks: the session and the account as it is now, in one query on the head.
    const t = plainTables(this.#db);
    const { head } = tableObjects(this.#db.schema, 'accounts');
    const [row] = await this.#db.query<{ id: string; login: string; display_name: string; role: string }>(
      `SELECT h.entry_id::text AS id, h.login, h.display_name, h.role
         FROM ${t.sessions} s JOIN ${head} h ON h.entry_id = s.account_id
        WHERE s.token_hash = $1 AND s.expires_at > now() AND h.op NOT IN ('delete', 'forget')`,
      [tokenHash(token)],
    );
    return row === undefined
      ? null
      : toAccount(row.id, { login: row.login, displayName: row.display_name, role: row.role });
  }

  async endSession(token: string | undefined): Promise<void> {
    if (token === undefined || !/^[A-Za-z0-9_-]{43}$/.test(token)) return;
    const t = plainTables(this.#db);
    await this.#db.query(`DELETE FROM ${t.sessions} WHERE token_hash = $1`, [tokenHash(token)]);
  }

  /** Who is who, with every display name an account ever had (cached for a few seconds). */
  names(): Promise<NameBook> {
    const now = Date.now();
    if (this.#names === null || now - this.#names.at > 5_000) {
      const book = this.#loadNames();
      this.#names = { at: now, book };
      book.catch(() => {
        if (this.#names?.book === book) this.#names = null;
      });
    }
    return this.#names.book;
  }

  async #loadNames(): Promise<NameBook> {
    const log = tableObjects(this.#db.schema, 'accounts').log;
    const rows = await this.#db.query<{ entry_id: string; recorded_at: Date; display_name: string | null }>(
      `SELECT entry_id, recorded_at, display_name FROM ${log} ORDER BY entry_id, version`,
    );
    return new NameBook(
      rows.map((r) => ({ id: r.entry_id, from: new Date(r.recorded_at), name: r.display_name })),
    );
  }
}

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function toAccount(id: string, data: { login: string; displayName: string; role: string }): Account {
  return {
    id,
    login: data.login,
    displayName: data.displayName,
    role: isRole(data.role) ? data.role : 'viewer',
  };
}

/**
 * Display names through time: `actor` in the log is an account id, and a change shows the name
 * its author had when they made it. An actor that is not an account (a script's
 * `appendlog_context(actor => 'nightly-import')`) shows as written.
 */
export class NameBook {
  readonly #byId = new Map<string, Array<{ from: Date; name: string | null }>>();

  constructor(rows: Array<{ id: string; from: Date; name: string | null }>) {
    for (const r of rows) {
      const list = this.#byId.get(r.id) ?? [];
      list.push({ from: r.from, name: r.name });
      this.#byId.set(r.id, list);
    }
  }

  isAccount(actor: string | null): boolean {
    return actor !== null && this.#byId.has(actor);
  }

  /** The name `actor` had at `at` (their first name before it, their latest without `at`). */
  nameAt(actor: string | null, at?: Date): string {
    if (actor === null) return 'unknown';
    const list = this.#byId.get(actor);
    if (list === undefined) return actor;
    let found = list[0]!;
    for (const entry of list) {
      if (at !== undefined && entry.from > at) break;
      found = entry;
    }
    return found.name ?? 'an erased account';
  }
}
