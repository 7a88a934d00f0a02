import { Link, useActionData, useFetcher } from '@remix-run/react';
import type { ReactNode } from 'react';
import { ShortId } from '#app/components/short-id.tsx';
import { utc } from '#app/components/time.tsx';
import { DATA_CATEGORIES, type DataCategory } from '#app/modules/vocabulary.ts';
import { CATEGORY_INFO } from '#app/modules/users/categories.ts';
import { fieldLabel, type RevealField } from '#app/modules/users/fields.ts';

// Pieces shared by the user data pages. Every value from the product database is rendered as
// text (React escapes it), isolated for bidirectional text (<bdi>) and allowed to wrap anywhere, so
// markup, right-to-left overrides and 5,000-character strings stay inside their box.

// Bidirectional controls and invisible characters in user data are shown as visible tokens: a
// right-to-left override can make "gnp.exe" read as "exe.png", and staff must see what is there.
// (Zero-width joiners are left alone: emoji sequences need them.)
const HIDDEN = /[\u061C\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/gu;
const HIDDEN_NAMES: Record<string, string> = {
  '\u061C': 'ALM',
  '\u200B': 'ZWSP',
  '\u200E': 'LRM',
  '\u200F': 'RLM',
  '\u202A': 'LRE',
  '\u202B': 'RLE',
  '\u202C': 'PDF',
  '\u202D': 'LRO',
  '\u202E': 'RLO',
  '\u2060': 'WJ',
  '\u2066': 'LRI',
  '\u2067': 'RLI',
  '\u2068': 'FSI',
  '\u2069': 'PDI',
  '\uFEFF': 'BOM',
};

/** A value from the product database, as text, its invisible controls made visible. */
export function UserText({ value, testId }: { value: string; testId?: string }) {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of value.matchAll(HIDDEN)) {
    const char = match[0];
    const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    if (match.index > last) parts.push(value.slice(last, match.index));
    parts.push(
      <abbr
        key={match.index}
        title={`Invisible character ${code} (${HIDDEN_NAMES[char] ?? 'control'})`}
        className="hidden-char"
      >
        [{HIDDEN_NAMES[char] ?? code}]
      </abbr>,
    );
    last = match.index + char.length;
  }
  if (last < value.length) parts.push(value.slice(last));
  return (
    <bdi className="user-text" data-testid={testId}>
      {parts}
    </bdi>
  );
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
        {DATA_CATEGORIES.map((c) => (
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
