/** What went wrong with one version, entry or table (docs/integrity.md lists them all). */
export type Problem =
  | 'table_missing'
  | 'column_missing'
  | 'column_type_changed'
  | 'column_unexpected'
  | 'content_hash_mismatch'
  | 'hash_mismatch'
  | 'parent_mismatch'
  | 'version_missing'
  | 'version_duplicate'
  | 'op_sequence'
  | 'time_order'
  | 'seq_order'
  | 'salt_missing'
  | 'redaction_incomplete'
  | 'redacted_without_forget'
  | 'head_missing'
  | 'head_mismatch'
  | 'log_missing'
  | 'checkpoint_invalid'
  | 'checkpoint_witnesses'
  | 'checkpoint_inconsistent'
  | 'checkpoint_truncated'
  | 'checkpoint_missing_version'
  | 'checkpoint_changed_version'
  | 'checkpoint_unexpected_version'
  | 'checkpoint_order'
  | 'checkpoint_index'
  | 'archive_boundary'
  | 'trigger_missing'
  | 'trigger_disabled'
  | 'code_modified'
  | 'code_revision'
  | 'erasure_early';

/**
 * One integrity failure. `entryId` and `version` are null when the failure concerns a whole
 * table; `table` is null for failures of a checkpoint as a whole.
 *
 * @example
 * // { table: 'addresses', entryId: '5f0c…', version: 3, problem: 'content_hash_mismatch', detail: '…' }
 * const mine = result.failures.filter((f) => f.table === 'addresses');
 */
export interface VerifyFailure {
  /** The table (content type) concerned; null for failures of the checkpoint as a whole. */
  table: string | null;
  entryId: string | null;
  version: number | null;
  problem: Problem;
  /** A sentence for people. */
  detail: string;
}

/**
 * Something that does not make the data fail verification but needs an operator: `tx_ids_ahead`,
 * a log restored from a cluster whose transaction ids are ahead of this one's, on which `changes`
 * and `checkpoint` refuse until the cluster is moved past them (docs/operations.md).
 *
 * @example
 * for (const w of (await db.verify()).warnings ?? []) console.warn(`${w.table}: ${w.detail}`);
 */
export interface VerifyWarning {
  table: string | null;
  problem: 'tx_ids_ahead';
  /** A sentence for people, with what to do. */
  detail: string;
}

/** The consistency proof between a checkpoint and the log as it is now (RFC 9162 §2.1.4). */
export interface ConsistencyReport {
  /** The node group of a row-sharded schema whose tree this is (docs/spec.md §7.7). */
  node?: number;
  oldSize: number;
  oldRoot: string;
  newSize: number;
  newRoot: string;
  proof: string[];
  ok: boolean;
}

/**
 * What `db.verify()` and `table.verify()` return.
 *
 * @example
 * const { ok, checked, erased, failures } = await db.verify();
 * for (const f of failures) console.log(`${f.table} ${f.entryId} v${f.version}: ${f.problem}`);
 */
export interface VerifyResult {
  /** True when nothing failed. */
  ok: boolean;
  /** Versions whose hashes were recomputed. */
  checked: number;
  /** Of those, versions redacted by erasure: their hash verifies, their content is gone. */
  erased: number;
  failures: VerifyFailure[];
  /** With `against` one checkpoint: the proof that the log extends it. */
  consistency?: ConsistencyReport;
  /** With `against` a list of checkpoints (a cluster checkpoint): one proof each, in their order. */
  consistencies?: ConsistencyReport[];
  /** Present when there is one: the data verifies, but the database needs an operator. */
  warnings?: VerifyWarning[];
}

/** Collects failures while a verification runs. */
export class Report {
  checked = 0;
  erased = 0;
  readonly failures: VerifyFailure[] = [];
  readonly warnings: VerifyWarning[] = [];

  fail(
    table: string | null,
    entryId: string | null,
    version: number | null,
    problem: Problem,
    detail: string,
  ): void {
    this.failures.push({ table, entryId, version, problem, detail });
  }

  warn(table: string | null, problem: VerifyWarning['problem'], detail: string): void {
    this.warnings.push({ table, problem, detail });
  }

  result(consistency?: ConsistencyReport | ConsistencyReport[]): VerifyResult {
    const r: VerifyResult = {
      ok: this.failures.length === 0,
      checked: this.checked,
      erased: this.erased,
      failures: this.failures,
    };
    if (Array.isArray(consistency)) r.consistencies = consistency;
    else if (consistency !== undefined) r.consistency = consistency;
    if (this.warnings.length > 0) r.warnings = this.warnings;
    return r;
  }
}
