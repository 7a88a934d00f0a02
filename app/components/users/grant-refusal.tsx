import { isRouteErrorResponse, Link, useRouteError } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import type { GrantRefusal } from '#app/modules/access/errors.ts';
import { CATEGORY_INFO, requestGrantHref } from '#app/modules/users/categories.ts';
import { utc } from '#app/components/time.tsx';

// The 403 of a user data page: it says exactly what is missing and links to the request form.
// Any other error goes to the console's one error boundary.

function isGrantRefusal(data: unknown): data is GrantRefusal {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { kind?: unknown }).kind === 'grant' &&
    typeof (data as { userId?: unknown }).userId === 'string' &&
    typeof (data as { category?: unknown }).category === 'string' &&
    (data as { category: string }).category in CATEGORY_INFO
  );
}

export function UserDataErrorBoundary() {
  const error = useRouteError();
  if (!isRouteErrorResponse(error) || error.status !== 403 || !isGrantRefusal(error.data)) {
    return <GeneralErrorBoundary />;
  }
  const { userId, category, missing, at } = error.data;
  const info = CATEGORY_INFO[category];
  const when = at ? utc(at) : null;
  return (
    <section className="error-page" aria-labelledby="error-title" data-refusal="grant">
      <h1 id="error-title">403 — No grant for this data</h1>
      <p data-testid="refusal-message">
        {error.data.message}
        {when && missing === 'expired' ? ` It ended at ${when}.` : null}
        {when && missing === 'scheduled' ? ` It starts at ${when}.` : null}
      </p>
      <p>
        What is missing: a grant covering <strong>you</strong>, user <code>{userId}</code> and the{' '}
        <strong>{info.label.toLowerCase()}</strong> category ({info.holds}), approved by someone
        else and neither expired nor revoked. A grant for another user or another category does not
        open this page.
      </p>
      <p>This refusal has been recorded in the audit trail.</p>
      <p className="actions">
        {missing === 'pending' || missing === 'scheduled' ? null : (
          <Link className="button" to={requestGrantHref(userId, [category])}>
            Request access to {info.label.toLowerCase()}
          </Link>
        )}
        <Link to={`/users/${userId}`}>Back to the user</Link>
      </p>
    </section>
  );
}
