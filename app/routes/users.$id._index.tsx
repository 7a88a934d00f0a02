import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { decodeTrailCursor, encodeTrailCursor } from '#app/modules/audit/trail.server.ts';
import { userPageHistory } from '#app/modules/access/user-history.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { attempt, invariantResponse } from '#app/utils/http.server.ts';
import { grantReasons } from '#app/modules/access/list.server.ts';
import { liveGrantsFor } from '#app/modules/access/live.server.ts';
import { isErased } from '#app/modules/privacy/erasure.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { CATEGORY_INFO, requestGrantHref } from '#app/modules/users/categories.ts';
import { USER_ID_PARAM } from '#app/modules/users/input.server.ts';
import { cardView, lookupUser } from '#app/modules/users/lookup.server.ts';
import { UserCardFacts } from '#app/components/users/user-card.tsx';
import { REQUESTABLE_CATEGORIES } from '#app/modules/vocabulary.ts';
import { ShortId } from '#app/components/short-id.tsx';
import { Time, utc } from '#app/components/time.tsx';

export const access = requires('users:lookup', { writesOnGet: true });

export const meta: MetaFunction = () => [{ title: 'User · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const id = USER_ID_PARAM.safeParse(args.params.id);
  invariantResponse(id.success, 'No user has this id.', { status: 404 });
  const userId = id.data.toLowerCase();
  // An erased user's id answers gone, before any lookup (ADR 026).
  invariantResponse(
    !(await isErased(userId)),
    'This user was erased: their data is gone for good.',
    { status: 410 },
  );
  const after = new URL(args.request.url).searchParams.get('after') ?? undefined;
  const cursor = attempt(() => decodeTrailCursor(after, 'desc'));
  // Opening a user by address is a lookup by id: audited, and counted against the daily limit.
  const found = await lookupUser(me, { by: 'id', value: userId });
  invariantResponse(found.kind !== 'not_found', 'No user has this id.', { status: 404 });
  if (found.kind === 'refused') {
    throw json(
      {
        message: `Refused: you have looked up ${found.limit} different users today, the most allowed in one day. Users you have already looked up today stay available; others again from ${utc(found.resetsAt)}.`,
      },
      { status: 429 },
    );
  }
  const [grants, history] = await Promise.all([
    liveGrantsFor({ staffId: me.staffId, userId }),
    // Without the reader's own lookups (this page being opened), with the refusals.
    userPageHistory(userId, me, { cursor, limit: 25 }),
  ]);
  // "Why": the reason code and ticket of the grant each view happened under.
  const reasons = await grantReasons(history.rows.flatMap((r) => (r.grantId ? [r.grantId] : [])));
  // Who else viewed this user is shown only to security reviewers (issue 11): everyone else who
  // may look users up sees that a staff member did, when, and why (reason and ticket), and their
  // own views as theirs. The identities never leave the server for them.
  const seesStaff = me.permissions.has('security:review');
  const actorOf = (r: (typeof history.rows)[number]) =>
    seesStaff
      ? { name: r.actorName, staffId: r.actorStaffId }
      : r.actorStaffId === me.staffId
        ? { name: 'You', staffId: null }
        : null;
  return json({
    card: cardView(found.card),
    categories: REQUESTABLE_CATEGORIES.map((category) => {
      const grant = grants[category];
      return {
        category,
        ...CATEGORY_INFO[category],
        grant: grant
          ? { id: grant.grantId, endsAt: grant.endsAt.toISOString(), breakGlass: grant.breakGlass }
          : null,
      };
    }),
    canRequest: me.permissions.has('grants:request'),
    canEnterPrivacyRequest: me.permissions.has('privacy:process'),
    seesStaff,
    history: history.rows.map((r) => ({
      seq: r.seq,
      time: r.time.toISOString(),
      description: r.description,
      outcome: r.outcome,
      actor: actorOf(r),
      grantId: r.grantId,
      reasonCode: r.grantId ? (reasons.get(r.grantId)?.reasonCode ?? null) : null,
      ticketRef: r.grantId ? (reasons.get(r.grantId)?.ticketRef ?? null) : null,
      dataCategory: r.dataCategory,
      detail: r.detail,
    })),
    next: encodeTrailCursor(history.next, 'desc'),
  });
}

type HistoryRow = ReturnType<typeof useLoaderData<typeof loader>>['history'][number];
const col = columnHelper<HistoryRow>();
const columns = col.columns([
  col.accessor('time', {
    header: 'When (UTC)',
    cell: (info) => <Time iso={info.getValue()} seconds zone={false} />,
  }),
  col.accessor('actor', {
    header: 'Who',
    cell: (info) => {
      const actor = info.getValue();
      if (!actor) return <span className="muted">A staff member</span>;
      return actor.name ? (
        <StaffName name={actor.name} />
      ) : (
        <span className="muted">{actor.staffId?.slice(0, 8) ?? 'unknown'}</span>
      );
    },
  }),
  col.accessor('description', {
    header: 'What',
    cell: (info) => {
      const r = info.row.original;
      return (
        <>
          {info.getValue()}{' '}
          {r.dataCategory ? <span className="badge">{r.dataCategory}</span> : null}
          {r.detail ? (
            <>
              <br />
              {r.outcome === 'denied' ? (
                <span className="muted">{r.detail}</span>
              ) : (
                <code className="muted">{r.detail}</code>
              )}
            </>
          ) : null}
        </>
      );
    },
  }),
  col.accessor('reasonCode', {
    header: 'Why (grant)',
    cell: (info) => {
      const { grantId, ticketRef } = info.row.original;
      if (!grantId) {
        return (
          <span className="muted">
            {info.row.original.outcome === 'denied' ? '—' : 'lookup (no grant needed)'}
          </span>
        );
      }
      return (
        <>
          {info.getValue()?.replace(/_/g, ' ') ?? <span className="muted">—</span>}
          {ticketRef ? <span className="muted"> · {ticketRef}</span> : null}
          <br />
          <span className="muted">
            grant <ShortId id={grantId} />
          </span>
        </>
      );
    },
  }),
  col.accessor('outcome', {
    header: 'Outcome',
    cell: (info) => (
      <span className={`badge ${info.getValue() === 'allowed' ? 'active' : 'disabled'}`}>
        {info.getValue()}
      </span>
    ),
  }),
]);

export default function UserOverviewRoute() {
  const { card, categories, canRequest, canEnterPrivacyRequest, history, next, seesStaff } =
    useLoaderData<typeof loader>();
  const missing = categories.filter((c) => !c.grant).map((c) => c.category);
  const held = categories.filter((c) => c.grant);
  return (
    <>
      <p>
        <Link to="/users">← Find a user</Link>
      </p>
      <h1>
        User <code className="user-id">{card.id}</code>
      </h1>
      <section className="panel" aria-labelledby="card-title">
        <h2 id="card-title" className="panel-heading">
          Lookup card
        </h2>
        <UserCardFacts card={card} />
        {canEnterPrivacyRequest ? (
          <p className="flush-bottom">
            <Link to={`/privacy/new?user=${card.id}`}>Enter a privacy request for this user</Link>
          </p>
        ) : null}
      </section>
      <section className="panel" aria-labelledby="access-title">
        <h2 id="access-title" className="panel-heading">
          What you may see now
        </h2>
        <p className="muted">
          Each category needs a live grant covering you, this user and that category. Grants are
          checked at every request; opening a category is recorded in the audit trail.
        </p>
        <p data-testid="live-grants-summary">
          {held.length === 0 ? (
            <>
              You hold <strong>no live grant</strong> for this user: every category below needs one
              before it opens.
            </>
          ) : (
            <>
              You hold a live grant for{' '}
              <strong>{held.map((c) => c.label.toLowerCase()).join(', ')}</strong>
              {missing.length > 0 ? '; the other categories need one before they open.' : '.'}
            </>
          )}
        </p>
        <ul className="category-access">
          {categories.map((c) => (
            <li
              key={c.category}
              data-testid={`category-${c.category}`}
              data-live={c.grant ? 'yes' : 'no'}
            >
              <strong>{c.label}</strong>
              <span className="muted">{c.holds}</span>
              {c.grant ? (
                <span className="category-status">
                  <span className="badge active">until {utc(c.grant.endsAt)}</span>
                  {c.grant.breakGlass ? <span className="badge disabled">break-glass</span> : null}
                  <Link to={`/users/${card.id}/${c.category}`}>Open {c.label.toLowerCase()}</Link>
                </span>
              ) : (
                <span className="category-status">
                  <span className="badge">no live grant</span>
                  {canRequest ? (
                    <Link to={requestGrantHref(card.id, [c.category])}>Request access</Link>
                  ) : null}
                </span>
              )}
            </li>
          ))}
        </ul>
        {canRequest && missing.length > 1 ? (
          <p className="flush-bottom">
            <Link className="button secondary" to={requestGrantHref(card.id, missing)}>
              Request access to the other {missing.length} categories
            </Link>
          </p>
        ) : null}
      </section>
      <section aria-labelledby="history-title">
        <h2 id="history-title">Access history</h2>
        <p className="muted">
          Who looked this user up or viewed their data, when, and under which grant, and which
          requests were refused — from the audit trail, newest first. Your own lookups (opening this
          page) are left out.{' '}
          {seesStaff
            ? 'As a security reviewer you see who each staff member was.'
            : 'Other staff members are shown by name to security reviewers only.'}
        </p>
        <DataTable
          caption="Views, reveals, lookups and refusals of this user (your own lookups left out)"
          columns={columns}
          data={history}
          getRowId={(r) => String(r.seq)}
          next={next}
          empty="Nobody has looked at this user’s data yet."
        />
      </section>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
