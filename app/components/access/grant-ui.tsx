import type { ReactNode } from 'react';
import { CATEGORY_INFO } from '#app/modules/users/categories.ts';
import { REASON_CODES, type DataCategory } from '#app/modules/vocabulary.ts';
import { GRANT_LIMITS, type GrantState } from '#app/modules/access/vocabulary.ts';
import { GRANT_STATE_LABELS, REASON_CODE_LABELS } from '#app/modules/labels.ts';

// What the grant pages share on screen (their words are in app/modules/labels.ts), and the
// controls the stylesheet does not style. Browser-safe: no server imports.

export const REVOKE_BASIS_LABELS: Record<string, string> = {
  requester: 'by the requester',
  approver: 'by an approver',
  revoke_any: 'by a holder of grants:revoke_any',
  staff_disabled: 'when the staff account was disabled',
};

export function categoryLabel(category: string) {
  return CATEGORY_INFO[category as DataCategory]?.label ?? category;
}

export function categoryList(categories: readonly string[]) {
  return categories.map(categoryLabel).join(', ');
}

/** Minutes as people say them: 45 minutes, 1 hour, 1 hour 30 minutes. */
export function minutesText(total: number) {
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  const parts = [];
  if (hours) parts.push(`${hours} hour${hours === 1 ? '' : 's'}`);
  if (minutes || !hours) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`);
  return parts.join(' ');
}

const STATE_STYLE: Partial<Record<GrantState, string>> = {
  active: 'active',
  scheduled: 'active',
  denied: 'disabled',
  revoked: 'disabled',
};

export function StateBadge({ state, breakGlass }: { state: GrantState; breakGlass?: boolean }) {
  return (
    <>
      <span className={`badge ${STATE_STYLE[state] ?? ''}`} data-state={state}>
        {GRANT_STATE_LABELS[state]}
      </span>
      {breakGlass ? <span className="badge disabled">break-glass</span> : null}
    </>
  );
}

/** Ids of a field's hint and error, for aria-describedby. */
export function describedBy(id: string, hint: boolean, error: string | undefined) {
  const ids = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

export function FieldError({ id, error }: { id: string; error?: string }) {
  if (!error) return null;
  return (
    <p className="field-error" id={`${id}-error`}>
      {error}
    </p>
  );
}

export function Hint({ id, children }: { id: string; children: ReactNode }) {
  return (
    <p className="muted hint" id={`${id}-hint`}>
      {children}
    </p>
  );
}

/** The form-level list of problems: one link per field in error, so keyboard users can jump. */
export function ErrorSummary({
  errors,
  labels,
  idOf = (name) => `field-${name}`,
}: {
  errors: Record<string, string | undefined>;
  labels: Record<string, string>;
  idOf?: (name: string) => string;
}) {
  const entries = Object.entries(errors).filter(([, message]) => message);
  if (entries.length === 0) return null;
  return (
    <div className="form-error" role="alert" data-testid="error-summary">
      <p className="flush strong">
        Nothing was saved. {entries.length === 1 ? 'One field needs' : 'These fields need'}{' '}
        attention:
      </p>
      <ul className="tight-list">
        {entries.map(([name, message]) => (
          <li key={name}>
            <a href={`#${idOf(name)}`}>{labels[name] ?? name}</a>: {message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The reason select of the request and break-glass forms. */
export function ReasonField({
  defaultValue,
  error,
  placeholder,
}: {
  defaultValue: string;
  error?: string;
  placeholder?: string;
}) {
  return (
    <div>
      <label htmlFor="field-reasonCode">Reason</label>
      <select
        id="field-reasonCode"
        name="reasonCode"
        defaultValue={defaultValue}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy('field-reasonCode', false, error)}
      >
        {placeholder ? <option value="">{placeholder}</option> : null}
        {REASON_CODES.map((code) => (
          <option key={code} value={code}>
            {REASON_CODE_LABELS[code]}
          </option>
        ))}
      </select>
      <FieldError id="field-reasonCode" error={error} />
    </div>
  );
}

/** The justification textarea of the request and break-glass forms, with its rule as a hint. */
export function JustificationField({
  defaultValue,
  error,
  hint,
}: {
  defaultValue: string;
  error?: string;
  hint: ReactNode;
}) {
  return (
    <div>
      <label htmlFor="field-justification">Justification</label>
      <textarea
        id="field-justification"
        name="justification"
        rows={4}
        maxLength={GRANT_LIMITS.justificationMaxLength}
        defaultValue={defaultValue}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy('field-justification', true, error)}
      />
      <Hint id="field-justification">{hint}</Hint>
      <FieldError id="field-justification" error={error} />
    </div>
  );
}
