export type { ChangedVersion, ChangeSet, ChangesOptions, ChangesResult } from './api/changes.js';
export { MAX_LABEL_BYTES, MAX_VALUE_BYTES } from './api/codec.js';
export type { WriteContext } from './api/context.js';
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
export type { Op, Version } from './api/version.js';
export type { ConnectOptions, MigrateOptions, MigrateResult } from './db.js';
export { connect, Database } from './db.js';
export type { DestructiveChange, ErrorCode } from './errors.js';
export {
  AppendLogError,
  AppendOnlyError,
  DestructiveMigrationError,
  IntegrityError,
  InvalidInputError,
  InvalidStateError,
  InvalidUsageError,
  isAppendLogError,
  NotFoundError,
  ReasonRequiredError,
  VersionConflictError,
} from './errors.js';
export type { TableDefinition } from './migrate/definition.js';
export type { SchemaChangeKind, SchemaHistoryOptions, SchemaHistoryRecord } from './migrate/history.js';
export type { ColumnInputTypes, ColumnType, ColumnValueTypes, DefaultInput } from './schema/column.js';
export { Column, column } from './schema/column.js';
export type { ColumnMap, InsertData, PatchData, ResolvedColumn, RowData, TableDef } from './schema/table.js';
export { table } from './schema/table.js';
