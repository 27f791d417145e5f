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
