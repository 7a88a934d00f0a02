import { Link, useActionData, useFetcher } from '@remix-run/react';
import { IsolatedText } from '#app/components/isolated-text.tsx';
import { ShortId } from '#app/components/short-id.tsx';
import { utc } from '#app/components/time.tsx';
import { REQUESTABLE_CATEGORIES, type DataCategory } from '#app/modules/vocabulary.ts';
import { CATEGORY_INFO } from '#app/modules/users/categories.ts';
import { fieldLabel, type RevealField } from '#app/modules/users/fields.ts';

// Pieces shared by the user data pages. Every value from the product database is rendered as
// text, isolated for bidirectional text and allowed to wrap anywhere (isolated-text.tsx), so
// markup, right-to-left overrides and 5,000-character strings stay inside their box.

/** A value from the product database, as text, its invisible controls made visible. */
export function UserText({ value, testId }: { value: string; testId?: string }) {
  return <IsolatedText value={value} className="user-text" testId={testId} />;
}

export interface GrantView {
  id: string;
  endsAt: string;
  breakGlass: boolean;
}

export function GrantBanner({ grant }: { grant: GrantView }) {
  if (grant.breakGlass) {
    return (
      <p className="warning" role="status" data-testid="grant-banner">
        <strong>Break-glass access</strong> until {utc(grant.endsAt)} (grant{' '}
        <ShortId id={grant.id} />
        ). The security team will review this use; everything you open is recorded.
      </p>
    );
  }
  return (
    <p className="notice" role="status" data-testid="grant-banner">
      Shown under grant <ShortId id={grant.id} />, live until {utc(grant.endsAt)}. Every page you
      open and every value you reveal is recorded in the audit trail.
    </p>
  );
}

export function CategoryTabs({ userId, current }: { userId: string; current: DataCategory }) {
  return (
    <nav aria-label="Data categories" className="category-tabs">
      <ul>
        {REQUESTABLE_CATEGORIES.map((c) => (
          <li key={c}>
            {c === current ? (
              <span className="badge active" aria-current="page">
                {CATEGORY_INFO[c].label}
              </span>
            ) : (
              <Link to={`/users/${userId}/${c}`} className="badge">
                {CATEGORY_INFO[c].label}
              </Link>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}

interface RevealData {
  field?: string;
  value?: string | null;
}

/**
 * A masked identifier with a button that reveals it alone (a POST, audited with the field's code).
 * Works without JavaScript too: the POST then renders the page with the action's answer.
 */
export function Revealable({
  field,
  masked,
  action,
}: {
  field: RevealField;
  masked: string;
  action?: string;
}) {
  const fetcher = useFetcher<RevealData>({ key: `reveal:${field}` });
  const actionData = useActionData<RevealData>();
  const answer = fetcher.data?.field === field ? fetcher.data : actionData;
  if (answer?.field === field && answer.value !== undefined) {
    return (
      <span data-testid={`revealed-${field}`} role="status">
        {answer.value === null ? (
          <span className="muted">none on record</span>
        ) : (
          <UserText value={answer.value} />
        )}{' '}
        <span className="muted">(revealed and recorded)</span>
      </span>
    );
  }
  return (
    <fetcher.Form method="post" action={action} className="revealable">
      <UserText value={masked} testId={`masked-${field}`} />
      <input type="hidden" name="intent" value="reveal" />
      <input type="hidden" name="field" value={field} />
      <button
        type="submit"
        className="secondary"
        aria-label={`Reveal the ${fieldLabel(field)} (recorded in the audit trail)`}
        disabled={fetcher.state !== 'idle'}
      >
        {fetcher.state !== 'idle' ? 'Revealing…' : 'Reveal'}
      </button>
    </fetcher.Form>
  );
}
