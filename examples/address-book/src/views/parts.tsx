import type { ErasureStatus, Op, Version } from 'appendlog';
import type { FieldErrors } from '../input.js';
import { FIELDS, type FieldKey, type Person } from '../schema.js';
import { ActorName } from './actor.js';
import { CsrfField, type PageContext } from './layout.js';

/** One field that differs between two versions (the shape of appendlog's `diff`). */
export interface FieldChange {
  field: FieldKey;
  before: string | null;
  after: string | null;
}

/**
 * The fields that differ from `before` to `after` (every set field when there is no `before`),
 * for versions already in hand; `book.diff(id, from, to)` asks the database for the same.
 */
export function fieldChanges(before: Person | null, after: Person): FieldChange[] {
  return FIELDS.filter(({ key }) => (before?.[key] ?? null) !== after[key]).map(({ key }) => ({
    field: key,
    before: before?.[key] ?? null,
    after: after[key],
  }));
}

/** `2026-11-26 09:25:10 UTC`, in a <time> element carrying the exact instant. */
export function Time(props: { at: Date }) {
  const iso = props.at.toISOString();
  return <time datetime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`}</time>;
}

const OP_LABEL: Record<Op, string> = {
  insert: 'created',
  update: 'edited',
  delete: 'deleted',
  restore: 'restored',
  forget: 'forgotten',
};

/** What a version did; a revert is an update whose meta names the version it went back to. */
export function OpBadge(props: { v: Pick<Version<Person>, 'op' | 'meta'> }) {
  const { op, meta } = props.v;
  if (op === 'update' && typeof meta?.revertedTo === 'number')
    return <span class="op op-revert">reverted</span>;
  return <span class={`op op-${op}`}>{OP_LABEL[op]}</span>;
}

/** Who, when and why of one version. */
export function VersionMeta(props: { v: Version<Person> }) {
  const { v } = props;
  return (
    <span class="meta">
      <OpBadge v={v} /> v{v.version} by{' '}
      <strong>
        <ActorName actor={v.actor} at={v.recordedAt} />
      </strong>{' '}
      on <Time at={v.recordedAt} />
      {v.reason !== null && (
        <>
          {' '}
          — <q class="reason">{v.reason}</q>
        </>
      )}
    </span>
  );
}

/** Field-level changes: the old value struck through, the new one highlighted. */
export function DiffTable(props: { changes: FieldChange[] }) {
  if (props.changes.length === 0) return <p class="muted">No field changed.</p>;
  return (
    <table class="diff">
      <tbody>
        {props.changes.map((c) => (
          <tr>
            <th>{FIELDS.find((f) => f.key === c.field)?.label ?? c.field}</th>
            <td>
              {c.before !== null && <del>{c.before}</del>} {c.after !== null && <ins>{c.after}</ins>}
              {c.after === null && <span class="muted"> (cleared)</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A person's fields as a definition list. */
export function PersonCard(props: { data: Person }) {
  return (
    <dl class="card">
      {FIELDS.map(({ key, label }) => (
        <>
          <dt>{label}</dt>
          <dd>{props.data[key] ?? <span class="muted">—</span>}</dd>
        </>
      ))}
    </dl>
  );
}

/** The create/edit form. Errors show next to their fields; the values typed are kept. */
export function PersonForm(props: {
  page: PageContext;
  action: string;
  values: Partial<Record<FieldKey, string | null>>;
  errors: FieldErrors;
  submit: string;
  expectedVersion?: number;
  reason?: string;
}) {
  const { errors } = props;
  return (
    <form method="post" action={props.action} class="person-form" novalidate>
      <ErrorSummary errors={errors} />
      <CsrfField page={props.page} />
      {props.expectedVersion !== undefined && (
        <input type="hidden" name="expectedVersion" value={String(props.expectedVersion)} />
      )}
      {FIELDS.map(({ key, label }) => (
        <TextField
          name={key}
          label={label}
          value={props.values[key] ?? ''}
          error={errors[key]}
          required={key === 'name'}
          autocomplete={AUTOCOMPLETE[key]}
        />
      ))}
      {props.expectedVersion !== undefined && (
        <TextField
          name="reason"
          label="Why? (optional, kept in the history)"
          value={props.reason ?? ''}
          error={errors.reason}
        />
      )}
      <button type="submit">{props.submit}</button>
    </form>
  );
}

const AUTOCOMPLETE: Record<FieldKey, string> = {
  name: 'name',
  addressLine1: 'address-line1',
  city: 'address-level2',
  postcode: 'postal-code',
  tel: 'tel',
};

/** A labelled text input with its error message beside it. */
export function TextField(props: {
  name: string;
  label: string;
  value: string;
  error?: string | undefined;
  required?: boolean;
  autocomplete?: string;
  type?: string;
}) {
  const id = `f-${props.name}`;
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type}
        step={props.type === 'datetime-local' ? '1' : undefined}
        value={props.value}
        required={props.required}
        autocomplete={props.autocomplete ?? 'off'}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      />
      {props.error && (
        <p class="error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/**
 * What went wrong with a form, on top of it: announced at once (`role="alert"`) and focused on
 * load (`autofocus`, no script), each message a link to its field. `version` (the form is out
 * of date) has no field of its own. Nothing is rendered when there is no error.
 */
export function ErrorSummary(props: { errors: FieldErrors | Partial<Record<string, string>> }) {
  const messages = Object.entries(props.errors).filter((e): e is [string, string] => Boolean(e[1]));
  if (messages.length === 0) return null;
  return (
    <div class="error-summary" role="alert" tabindex={-1} autofocus aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">
        {messages.length === 1 ? 'There is a problem' : `There are ${messages.length} problems`}
      </h2>
      <ul>
        {messages.map(([field, message]) => (
          <li>{field === 'version' ? message : <a href={`#f-${field}`}>{message}</a>}</li>
        ))}
      </ul>
    </div>
  );
}

/**
 * A notice at the top of a page after a change. It takes the focus when the page loads, so a
 * screen reader reads it (a status present at load is not announced) and the keyboard goes on
 * from there.
 */
export function Notice(props: { children: unknown }) {
  return (
    <p class="notice" role="status" tabindex={-1} autofocus>
      {props.children}
    </p>
  );
}

/** "erased on <date>: <reason>", or when it will be. */
export function ErasureLine(props: { status: ErasureStatus }) {
  const s = props.status;
  return s.state === 'erased' ? (
    <span>
      erased on <Time at={s.erasedAt} />: <q class="reason">{s.reason}</q>
    </span>
  ) : (
    <span>
      forgotten on <Time at={s.forgottenAt} /> by {s.forgottenBy ?? 'unknown'}:{' '}
      <q class="reason">{s.reason}</q>; to be erased after <Time at={s.dueAt} />
    </span>
  );
}
