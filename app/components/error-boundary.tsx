import { isRouteErrorResponse, Link, useRouteError } from '@remix-run/react';

// The one error boundary. Routes re-export it; it never shows a stack trace.
export function GeneralErrorBoundary() {
  const error = useRouteError();
  if (isRouteErrorResponse(error)) {
    const data = error.data as
      | {
          message?: string;
          permission?: string;
          kind?: string;
          continueTo?: string;
          verifyAt?: string;
        }
      | string
      | undefined;
    const message = typeof data === 'string' ? data : data?.message;
    if (error.status === 403 && typeof data === 'object' && data.kind === 'cross-site') {
      // A page that records on GET, opened from a link on another site (ADR 020): following the
      // link below, from this page, is the staff member's own choice.
      return (
        <section className="error-page" aria-labelledby="error-title" data-refusal="cross-site">
          <h1 id="error-title">403 — Opened from another site</h1>
          <p>{message}</p>
          <p className="actions">
            <Link className="button" to={data.continueTo ?? '/'} reloadDocument>
              Open it anyway
            </Link>
            <Link to="/">Back to your home page</Link>
          </p>
        </section>
      );
    }
    if (error.status === 403 && typeof data === 'object' && data.kind === 'step-up') {
      // Step-up (ADR 035): the action needs a fresh second factor; nothing was done.
      return (
        <section className="error-page" aria-labelledby="error-title" data-refusal="step-up">
          <h1 id="error-title">403 — Confirm your second factor</h1>
          <p>{message}</p>
          <p className="actions">
            <Link className="button" to={data.verifyAt ?? '/account/verify'}>
              Confirm with your authenticator app
            </Link>
            <Link to="/">Back to your home page</Link>
          </p>
        </section>
      );
    }
    if (error.status === 403) {
      return (
        <section className="error-page" aria-labelledby="error-title">
          <h1 id="error-title">403 — Not allowed</h1>
          <p>{message ?? 'You do not have permission to see this page.'}</p>
          <p>
            <Link to="/">Back to your home page</Link>
          </p>
        </section>
      );
    }
    if (error.status === 404) {
      return (
        <section className="error-page" aria-labelledby="error-title">
          <h1 id="error-title">404 — Not found</h1>
          <p>{message ?? 'There is no page at this address.'}</p>
          <p>
            <Link to="/">Back to your home page</Link>
          </p>
        </section>
      );
    }
    return (
      <section className="error-page" aria-labelledby="error-title">
        <h1 id="error-title">
          {error.status} — {error.statusText || 'Error'}
        </h1>
        <p>{message ?? 'The request could not be completed.'}</p>
      </section>
    );
  }
  return (
    <section className="error-page" aria-labelledby="error-title">
      <h1 id="error-title">Something went wrong</h1>
      <p>
        The console hit an unexpected error. Nothing was shown or changed; try again, and if it
        persists tell the Custodian team the time it happened.
      </p>
    </section>
  );
}
