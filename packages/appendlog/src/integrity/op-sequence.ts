import { OPS } from '../model/version.js';
import { canonicalFromMicros } from './pg-time.js';

/**
 * What a `forget` version fixes about the one version that may follow it, its cancel
 * (docs/spec.md §5, rule 5a).
 */
export interface Forgotten {
  /** `meta.erasure.dueAt` of the forget, when it is a canonical time; else null (nothing may follow). */
  dueAt: { text: string; micros: bigint } | null;
  /** The op of the cancel: `delete` when the version before the forget was a delete, else `restore`. */
  cancelOp: 'restore' | 'delete';
}

/** The facts of a forget version: its meta (jsonb text) and the op of the version before it. */
export function forgotten(meta: string | null, opBefore: string | null): Forgotten {
  const text = member(object(member(parseObject(meta), 'erasure')), 'dueAt');
  const micros = typeof text === 'string' ? microsOf(text) : null;
  return {
    dueAt: typeof text === 'string' && micros !== null ? { text, micros } : null,
    cancelOp: opBefore === 'delete' ? 'delete' : 'restore',
  };
}

/**
 * Why a version may not follow the version before it, when that one is not a forget (see
 * {@link cancelProblem}); null when it may. `deleted`: whether that version took the entry out
 * of the current state (a delete).
 */
export function opProblem(op: string, deleted: boolean): string | null {
  if (!(OPS as readonly string[]).includes(op)) return `op "${op}" is none of ${OPS.join(', ')}`;
  if (op === 'insert') return 'an insert after version 1';
  if ((op === 'update' || op === 'delete') && deleted) return `${an(op)} of a deleted entry`;
  if (op === 'restore' && !deleted) return 'a restore of an entry that was not deleted';
  return null;
}

/**
 * Why a version may not follow a forget, or null when it is the forget's cancel: a `restore` (a
 * `delete` when the version before the forget was a delete) whose meta has `cancelForget: true`,
 * recorded before the forget's due time, with a reason that is not only spaces. The rules of the
 * chain trigger's `appendlog_check_cancel_forget`, judged from the chain alone.
 */
export function cancelProblem(
  f: Forgotten,
  op: string,
  reason: string | null,
  meta: string | null,
  at: number | bigint,
): string | null {
  if (member(parseObject(meta), 'cancelForget') !== true)
    return `${an(op)} follows a forget without meta.cancelForget = true: only the forget's cancel may`;
  if (f.dueAt === null) return `${an(op)} follows a forget whose meta.erasure.dueAt is not a canonical time`;
  if (BigInt(at) >= f.dueAt.micros)
    return `the forget's cancel is recorded at ${canonicalFromMicros(at)}, not before its due time ${f.dueAt.text}`;
  if (op !== f.cancelOp) {
    const was = f.cancelOp === 'delete' ? 'deleted' : 'live';
    return `the forget's cancel is ${an(op)}, not a ${f.cancelOp} (the entry was ${was} before the forget)`;
  }
  if (reason === null || !/[^ ]/.test(reason)) return "the forget's cancel has no reason";
  return null;
}

/** `an insert`, `a delete`. */
function an(op: string): string {
  return /^[aeiou]/.test(op) ? `an ${op}` : `a ${op}`;
}

const MICROS_PER_DAY = 86_400_000_000n;
/** Days from 0000-03-01 to 2000-01-01. */
const EPOCH_2000_DAYS = 730_425;

/**
 * Microseconds since 2000-01-01 UTC of a canonical timestamptz text (`YYYY-MM-DDTHH:MM:SS.ffffffZ`,
 * the year of four to six digits, as `to_char` writes it); null for any other text, or a date
 * that does not exist.
 */
function microsOf(s: string): bigint | null {
  const m = /^(\d{4,6})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z$/.exec(s);
  if (m === null) return null;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0] = m.slice(1, 7).map(Number);
  // Days from civil (H. Hinnant), with the year starting in March.
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1;
  const days =
    era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - EPOCH_2000_DAYS;
  const micros =
    BigInt(days) * MICROS_PER_DAY + BigInt(h * 3600 + mi * 60 + sec) * 1_000_000n + BigInt(m[7]!);
  // Written back, the text must come out the same: no 31 April, no hour 24, no year 0.
  return canonicalFromMicros(micros) === s ? micros : null;
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    return object(JSON.parse(text));
  } catch {
    return null;
  }
}

function object(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function member(o: Record<string, unknown> | null, key: string): unknown {
  return o !== null && Object.hasOwn(o, key) ? o[key] : undefined;
}
