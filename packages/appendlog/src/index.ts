export type { ChangedVersion, ChangeSet, ChangesOptions, ChangesResult } from './api/changes.js';
export type { Page } from './api/cursor.js';
export type { FieldChange } from './api/diff.js';
export type { AsOf, Instant } from './api/instant.js';
export type { RevertOptions } from './api/revert.js';
export type {
  DeleteOptions,
  InsertOptions,
  ListOptions,
  OrderBy,
  UpdateOptions,
  WriteOptions,
} from './api/table.js';
export { Table } from './api/table.js';
export type { HistoryOptions, PageOptions } from './api/time-travel.js';
export type { ConnectOptions, MigrateOptions, MigrateResult, TransactionOptions } from './db.js';
export { connect, Database } from './db.js';
export type { CancelForgetOptions, ForgetOptions } from './erasure/options.js';
export type { PurgedEntry, PurgeOptions, PurgeResult, ScheduledEntry } from './erasure/purge-types.js';
export type { ErasureStatus } from './erasure/status.js';
export type { DestructiveChange, ErrorCode } from './errors.js';
export {
  AppendLogError,
  AppendOnlyError,
  ConflictError,
  ConnectionError,
  DestructiveMigrationError,
  DuplicateError,
  IntegrityError,
  InvalidInputError,
  InvalidStateError,
  InvalidUsageError,
  isAppendLogError,
  NotFoundError,
  ReasonRequiredError,
  TimeoutError,
  TransactionIdsAheadError,
  VersionConflictError,
} from './errors.js';
export type { ExportCarOptions, ExportCarResult } from './export/car.js';
export { exportCar } from './export/car.js';
export type { CarBlock, CarCheck, CarFailure } from './export/car-read.js';
export { carRoots, checkCar, readCar } from './export/car-read.js';
export type { ExportTilesOptions, ExportTilesResult } from './export/tiles-export.js';
export { exportTiles } from './export/tiles-export.js';
export type { ArchivedTable, ArchiveOptions, ArchiveResult } from './integrity/archive.js';
export type { CheckpointOptions } from './integrity/checkpoint.js';
export type { Checkpoint, CheckpointBody, CheckpointSignature } from './integrity/checkpoint-format.js';
export { checkpointMessage } from './integrity/checkpoint-format.js';
export { checkpointNote, checkpointText } from './integrity/checkpoint-note.js';
export { parseCheckpoint } from './integrity/checkpoint-parse.js';
export { checkSignature, type TrustedKey } from './integrity/checkpoint-sign.js';
export { checkCosignatures, type Witness } from './integrity/checkpoint-witnesses.js';
export type { ConsistencyProof, ConsistencyProofOptions } from './integrity/consistency-proof.js';
export type {
  InclusionCheck,
  InclusionProof,
  InclusionProofOptions,
  VersionRef,
} from './integrity/inclusion.js';
export { verifyInclusionProof } from './integrity/inclusion.js';
export { verifierKey } from './integrity/note.js';
export type {
  ConsistencyReport,
  Problem,
  VerifyFailure,
  VerifyResult,
  VerifyWarning,
} from './integrity/report.js';
export type { VerifyOptions, VerifyProgress } from './integrity/verify.js';
export {
  type Witnessed,
  type WitnessOptions,
  witnessCheckpoint,
  witnessVerifierKey,
} from './integrity/witness.js';
export type { TableDefinition } from './migrate/definition.js';
export type { SchemaChangeKind, SchemaHistoryOptions, SchemaHistoryRecord } from './migrate/history.js';
export type { WriteContext } from './model/context.js';
export type { RetentionPolicy } from './model/retention-policy.js';
export { MAX_LABEL_BYTES, MAX_VALUE_BYTES } from './model/values.js';
export type { Op, Version } from './model/version.js';
export type {
  Projection,
  ProjectionDefinition,
  ProjectionRun,
  ProjectionTx,
} from './realtime/projection.js';
export type { ProjectionStatus } from './realtime/projection-status.js';
export type { ChangeHandler, SubscribeOptions, Subscription } from './realtime/subscribe.js';
export type { ColumnInputTypes, ColumnType, ColumnValueTypes, DefaultInput } from './schema/column.js';
export { Column, column } from './schema/column.js';
export type {
  ColumnMap,
  InsertData,
  PatchData,
  ResolvedColumn,
  RowData,
  TableDef,
  TableOptions,
} from './schema/table.js';
export { table } from './schema/table.js';
export { toAppendLogError } from './sql/client-error.js';
export { type TableObjects, tableObjects } from './sql/names.js';
