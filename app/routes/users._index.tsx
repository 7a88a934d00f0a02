import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import { useEffect, useRef } from 'react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { LookupQuerySchema } from '#app/modules/users/input.server.ts';
import { LOOKUP_QUERY_HINT } from '#app/modules/users/lookup.ts';
import {
  cardView,
  lookupDailyLimit,
  lookupsToday,
  lookupUser,
} from '#app/modules/users/lookup.server.ts';
import { UserCardFacts } from '#app/components/users/user-card.tsx';
import { utc } from '#app/components/time.tsx';
import { countOf, formatCount } from '#app/modules/labels.ts';

export const access = requires('users:lookup', { writesOnGet: true });

export const meta: MetaFunction = () => [{ title: 'Find a user · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const raw = new URL(args.request.url).searchParams.get('q') ?? '';
  const parsed = LookupQuerySchema.safeParse({ q: raw });
  if (!parsed.success) {
    return json(
      {
        q: raw.slice(0, 320),
        error: parsed.error.issues[0]!.message,
        result: null,
        today: await lookupsToday(me.staffId),
      },
      { status: 400 },
    );
  }
  const query = parsed.data.q;
  if (!query) {
    return json({ q: '', error: null, result: null, today: await lookupsToday(me.staffId) });
  }
  const found = await lookupUser(me, query);
  const result =
    found.kind === 'found'
      ? { kind: 'found' as const, by: query.by, card: cardView(found.card) }
      : found.kind === 'not_found'
        ? { kind: 'not_found' as const, by: query.by }
        : {
            kind: 'refused' as const,
            by: query.by,
            limit: found.limit,
            resetsAt: found.resetsAt.toISOString(),
          };
  // A lookup that went through says how many users are counted today; a refusal asks.
  const today =
    found.kind === 'refused'
      ? await lookupsToday(me.staffId)
      : { used: found.usedToday, limit: lookupDailyLimit() };
  return json(
    { q: raw.slice(0, 320), error: null, result, today },
    { status: found.kind === 'refused' ? 429 : 200 },
  );
}

/** Whether a key press was typed into a field (where `/` is a character, not the shortcut). */
function typing(target: EventTarget | null) {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/**
 * The lookup field has the focus when the page opens, and `/` brings it back from anywhere on the
 * page (as in GitHub, Retool and most consoles): finding a user is what this page is for.
 */
function useLookupShortcut() {
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    field.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target)) return;
      event.preventDefault();
      field.current?.focus();
      field.current?.select();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return field;
}

export default function FindUserRoute() {
  const { q, error, result, today } = useLoaderData<typeof loader>();
  const field = useLookupShortcut();
  return (
    <>
      <h1>Find a user</h1>
      <section className="panel">
        <Form method="get" role="search" aria-label="Find a user by exact id or email">
          <label htmlFor="q">User id or email address</label>
          <div className="search-row">
            <input
              ref={field}
              id="q"
              name="q"
              type="search"
              autoFocus
              aria-keyshortcuts="/"
              defaultValue={q}
              autoComplete="off"
              spellCheck={false}
              maxLength={320}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? 'q-hint q-error' : 'q-hint'}
            />
            <button type="submit">Find</button>
          </div>
          <p id="q-hint" className="muted search-hint">
            {LOOKUP_QUERY_HINT} Every lookup is recorded in the audit trail. Press <kbd>/</kbd> to
            come back to this field.
          </p>
          {error ? (
            <p id="q-error" role="alert" className="field-error wrap-anywhere">
              {error}
            </p>
          ) : null}
        </Form>
        <p className="muted flush-bottom" data-testid="lookups-today">
          Today (UTC) you have looked up {formatCount(today.used)} of at most{' '}
          {countOf(today.limit, 'different user')}.
        </p>
      </section>
      {result === null ? (
        error ? null : (
          <p className="empty">
            Look up the person an inquiry is about by the exact id or email address they gave.
          </p>
        )
      ) : result.kind === 'refused' ? (
        <p className="form-error" role="alert">
          Lookup refused: you have looked up {result.limit} different users today, the most allowed
          in one day. You can look up new users again from {utc(result.resetsAt)}; users you have
          already looked up today stay available. The security team has been told. This refusal is
          recorded.
        </p>
      ) : result.kind === 'not_found' ? (
        <p className="notice" role="status" data-testid="not-found">
          No user has this {result.by === 'id' ? 'id' : 'email address'}. Check it for typos: only
          exact matches are found.
        </p>
      ) : (
        <section className="panel" aria-labelledby="result-title">
          <h2 id="result-title" className="panel-heading">
            User found by {result.by === 'id' ? 'id' : 'email address'}
          </h2>
          <UserCardFacts card={result.card} />
          <p className="flush-bottom">
            <Link className="button" to={`/users/${result.card.id}`}>
              Open this user
            </Link>
          </p>
        </section>
      )}
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
