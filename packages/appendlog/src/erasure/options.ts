import type { WriteContext } from '../model/context.js';

/**
 * Options of `table.forget`: a reason (required), and when the erasure becomes due.
 *
 * @example
 * await book.forget(id, { reason: 'GDPR request #12' });                    // due in 30 days
 * await book.forget(id, { reason: 'GDPR request #13', after: '7 days' });
 * await book.forget(id, { reason: 'court order', after: new Date('2027-01-01T00:00:00Z') });
 * await book.forget(id, { reason: 'confirmed by the user', after: '0 seconds' }); // due now
 */
export interface ForgetOptions extends WriteContext {
  reason: string;
  /**
   * A duration (`'30 days'`, `'12 hours'`, `'0 seconds'`), measured on the database clock from
   * the forget, or a due time (a `Date`, or an ISO 8601 string with a zone; a past time means
   * now). Default `'30 days'`. Until then `cancelForget` can take the request back.
   */
  after?: string | Date;
  /** Refuse with `version_conflict` if the entry moved past this version. */
  expectedVersion?: number;
}

/**
 * Options of `table.cancelForget`: a reason is required.
 *
 * @example
 * await book.cancelForget(id, { reason: 'request withdrawn by the user' });
 */
export interface CancelForgetOptions extends WriteContext {
  reason: string;
}
