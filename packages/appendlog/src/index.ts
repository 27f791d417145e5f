export { connect, Database } from './db.js';
export type { ConnectOptions, MigrateOptions, MigrateResult } from './db.js';
export { table } from './schema/table.js';
export type { ColumnMap, InsertData, PatchData, ResolvedColumn, RowData, TableDef } from './schema/table.js';
export { column, Column } from './schema/column.js';
export type { ColumnType, ColumnValueTypes, ColumnInputTypes } from './schema/column.js';
export { Table } from './api/table.js';
export type { DeleteOptions, InsertOptions, ListOptions, OrderBy, UpdateOptions, WriteOptions } from './api/table.js';
export type { WriteContext } from './api/context.js';
export type { Op, Version } from './api/version.js';
export { MAX_LABEL_BYTES, MAX_VALUE_BYTES } from './api/codec.js';
export {
  AppendLogError,
  AppendOnlyError,
  DestructiveMigrationError,
  IntegrityError,
  InvalidInputError,
  InvalidStateError,
  InvalidUsageError,
  NotFoundError,
  ReasonRequiredError,
  VersionConflictError,
  isAppendLogError,
} from './errors.js';
export type { DestructiveChange, ErrorCode } from './errors.js';
export type { VerifyOptions, VerifyProgress } from './integrity/verify.js';
export type { ConsistencyReport, Problem, VerifyFailure, VerifyResult } from './integrity/report.js';
export type { CheckpointOptions } from './integrity/checkpoint.js';
export { checkpointMessage, checkSignature, parseCheckpoint } from './integrity/checkpoint-format.js';
export type { Checkpoint, CheckpointBody, CheckpointSignature } from './integrity/checkpoint-format.js';
export { verifyInclusionProof } from './integrity/inclusion.js';
export type { InclusionCheck, InclusionProof, InclusionProofOptions, VersionRef } from './integrity/inclusion.js';
export { exportCar } from './export/car.js';
export type { ExportCarOptions, ExportCarResult } from './export/car.js';
export { carRoots, checkCar, readCar } from './export/car-read.js';
export type { CarCheck, CarFailure } from './export/car-read.js';
