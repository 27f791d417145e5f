/**
 * SQLSTATEs raised by the generated plpgsql, and the standard ones `mapDatabaseError` types.
 * Class `AL` is ours; conflicts use the standard `40001` so that poolers and ORMs that retry
 * serialization failures retry these too.
 */
export const SQLSTATE = {
  appendOnly: 'AL001',
  reasonRequired: 'AL002',
  notFound: 'AL003',
  invalidState: 'AL004',
  invalidInput: 'AL005',
  versionConflict: '40001',
  uniqueViolation: '23505',
  deadlock: '40P01',
  lockNotAvailable: '55P03',
  queryCanceled: '57014',
} as const;
