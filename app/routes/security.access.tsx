import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import type { ReactNode } from 'react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { isolatedPlainText, StaffName } from '#app/components/isolated-text.tsx';
import { categoryList, REVOKE_BASIS_LABELS, StateBadge } from '#app/components/access/grant-ui.tsx';
import { ShortId } from '#app/components/short-id.tsx';
import { Time } from '#app/components/time.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { dayAfter, OUTSIDE_REASONS } from '#app/modules/security/review.ts';
import {
  decodeStaffCursor,
  grantsPerStaff,
  parsePeriodQuery,
  revocations,
  unreviewedBreakGlass,
  viewsOutsideGrants,
} from '#app/modules/security/review.server.ts';
import { lookupLimitHits } from '#app/modules/users/lookup.server.ts';

export const access = requires('security:review');

export const meta: MetaFunction = () => [{ title: 'Security review · Custodian' }];

// The period and the page cursor are parsed by PeriodQuerySchema (review.server.ts), shared with
// the CSV download so both read the same period the same way.

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const { fromDay, toDay, period, after } = attempt(() =>
    parsePeriodQuery(new URL(args.request.url).searchParams),
  );
  const cursor = attempt(() => decodeStaffCursor(after));
  const [perStaff, waiting, overLimit, outside, revoked] = await Promise.all([
    grantsPerStaff(period, { cursor, limit: 25 }),
    unreviewedBreakGlass(),
    lookupLimitHits({ from: fromDay, to: dayAfter(toDay) }),
    viewsOutsideGrants(period),
    revocations(period),
  ]);
  return json({
    fromDay,
    toDay,
    perStaff,
    waiting,
    overLimit: overLimit.map((h) => ({
      staffId: h.staffId,
      staffName: h.staffName,
      day: h.day,
      distinctUsers: h.distinctUsers,
      refused: h.refused,
      firstRefusedAt: h.firstRefusedAt,
    })),
    outside,
    revoked,
  });
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;

const staffCol = columnHelper<Data['perStaff']['rows'][number]>();
function staffColumns(fromDay: string, toDay: string) {
  const history = (staffId: string) =>
    `/grants?${new URLSearchParams({
      view: 'history',
      requester: staffId,
      from: `${fromDay}T00:00`,
      to: `${dayAfter(toDay)}T00:00`,
    }).toString()}`;
  return staffCol.columns([
    staffCol.accessor('staffName', {
      header: 'Staff member',
      cell: (info) => (
        <Link
          to={history(info.row.original.staffId)}
          aria-label={`${isolatedPlainText(info.getValue())}: their grants in this period`}
        >
          <StaffName name={info.getValue()} />
        </Link>
      ),
    }),
    staffCol.accessor('requests', { header: 'Requests' }),
    staffCol.accessor('approved', { header: 'Approved' }),
    staffCol.accessor('denied', { header: 'Denied' }),
    staffCol.accessor('pending', { header: 'Pending' }),
    staffCol.accessor('revoked', { header: 'Revoked' }),
    staffCol.accessor('breakGlass', {
      header: 'Break-glass',
      cell: (info) =>
        info.getValue() ? <strong>{info.getValue()}</strong> : <span className="muted">0</span>,
    }),
    staffCol.accessor('sensitive', { header: 'Sensitive' }),
    staffCol.accessor('distinctUsers', { header: 'Users' }),
    staffCol.accessor('lastRequestAt', {
      header: 'Last request',
      cell: (info) => <Time iso={info.getValue()} />,
    }),
  ]);
}

const waitingCol = columnHelper<Data['waiting'][number]>();
const waitingColumns = waitingCol.columns([
  waitingCol.accessor('grantId', {
    header: 'Grant',
    cell: (info) => (
      <Link to={`/grants/${info.getValue()}`}>
        Review <ShortId id={info.getValue()} />
      </Link>
    ),
  }),
  waitingCol.accessor('staffName', {
    header: 'Broke glass',
    cell: (info) => <StaffName name={info.getValue()} />,
  }),
  waitingCol.accessor('userId', {
    header: 'End user',
    cell: (info) => <ShortId id={info.getValue()} />,
  }),
  waitingCol.accessor('categories', {
    header: 'Categories',
    cell: (info) => categoryList(info.getValue()),
  }),
  waitingCol.accessor('startsAt', {
    header: 'From (UTC)',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
  waitingCol.accessor('endsAt', {
    header: 'Until (UTC)',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
  waitingCol.accessor('state', {
    header: 'State',
    cell: (info) => <StateBadge state={info.getValue()} />,
  }),
]);

const outsideCol = columnHelper<Data['outside']['rows'][number]>();
const outsideColumns = outsideCol.columns([
  outsideCol.accessor('seq', {
    header: 'Entry',
    cell: (info) => <Link to={`/audit/${info.getValue()}`}>#{info.getValue()}</Link>,
  }),
  outsideCol.accessor('occurredAt', {
    header: 'Time (UTC)',
    cell: (info) => <Time iso={info.getValue()} seconds />,
  }),
  outsideCol.accessor('actorName', {
    header: 'Staff member',
    cell: (info) => {
      const name = info.getValue();
      return name === null ? <span className="muted">unknown</span> : <StaffName name={name} />;
    },
  }),
  outsideCol.accessor('action', {
    header: 'What',
    cell: (info) => (
      <>
        {info.getValue() === 'user.reveal' ? 'reveal' : 'view'} of{' '}
        {info.row.original.category ?? 'an unnamed category'}
      </>
    ),
  }),
  outsideCol.accessor('userId', {
    header: 'End user',
    cell: (info) => <ShortId id={info.getValue()} />,
  }),
  outsideCol.accessor('grantId', {
    header: 'Grant',
    cell: (info) =>
      info.getValue() ? (
        <Link to={`/grants/${info.getValue()}`}>
          <ShortId id={info.getValue()} />
        </Link>
      ) : (
        <span className="muted">none</span>
      ),
  }),
  outsideCol.accessor('reason', {
    header: 'Outside the grant because it is',
    cell: (info) => <strong>{OUTSIDE_REASONS[info.getValue()]}</strong>,
  }),
]);

const limitCol = columnHelper<Data['overLimit'][number]>();
const limitColumns = limitCol.columns([
  limitCol.accessor('day', { header: 'Day (UTC)' }),
  limitCol.accessor('staffName', {
    header: 'Staff member',
    cell: (info) => (
      <Link
        to={`/audit?${new URLSearchParams({
          actor: info.row.original.staffId,
          action: 'user.lookup',
          from: `${info.row.original.day}T00:00`,
          to: `${dayAfter(info.row.original.day)}T00:00`,
        }).toString()}`}
        aria-label={`${isolatedPlainText(info.getValue())}: their lookups that day in the audit trail`}
      >
        <StaffName name={info.getValue()} />
      </Link>
    ),
  }),
  limitCol.accessor('distinctUsers', { header: 'Distinct users looked up' }),
  limitCol.accessor('refused', { header: 'Lookups refused' }),
  limitCol.accessor('firstRefusedAt', {
    header: 'First refused (UTC)',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
]);

const revokedCol = columnHelper<Data['revoked'][number]>();
const revokedColumns = revokedCol.columns([
  revokedCol.accessor('grantId', {
    header: 'Grant',
    cell: (info) => (
      <Link to={`/grants/${info.getValue()}`}>
        Open <ShortId id={info.getValue()} />
      </Link>
    ),
  }),
  revokedCol.accessor('revokedAt', {
    header: 'Revoked (UTC)',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
  revokedCol.accessor('staffName', {
    header: 'Holder',
    cell: (info) => <StaffName name={info.getValue()} />,
  }),
  revokedCol.accessor('revokedByName', {
    header: 'Revoked by',
    cell: (info) => (
      <>
        {info.getValue() === null ? (
          <span className="muted">the system</span>
        ) : (
          <StaffName name={info.getValue()!} />
        )}{' '}
        <span className="muted">
          {info.row.original.basis ? REVOKE_BASIS_LABELS[info.row.original.basis] : null}
        </span>
      </>
    ),
  }),
  revokedCol.accessor('userId', {
    header: 'End user',
    cell: (info) => <ShortId id={info.getValue()} />,
  }),
  revokedCol.accessor('categories', {
    header: 'Categories',
    cell: (info) => (
      <>
        {categoryList(info.getValue())}
        {info.row.original.breakGlass ? <span className="badge disabled">break-glass</span> : null}
      </>
    ),
  }),
]);

function Figure({ href, count, label }: { href: string; count: number; label: ReactNode }) {
  return (
    <a href={href} className="panel figure-card">
      <span className="figure-count">{count}</span>
      <span className="muted">{label}</span>
    </a>
  );
}

export default function SecurityAccessRoute() {
  const data = useLoaderData<typeof loader>();
  const period = new URLSearchParams({ from: data.fromDay, to: data.toDay });
  const capped = (n: number, cap: number) => (n >= cap ? `${cap}+` : String(n));
  return (
    <>
      <div className="page-header">
        <h1>Security review of staff access</h1>
        <a className="button" href={`/security/access/csv?${period.toString()}`}>
          Download grants as CSV
        </a>
      </div>
      <p>
        <Link to="/privacy/record">Record of processing (Art. 30)</Link> ·{' '}
        <Link to="/analytics/shares">Sharing log of analytics</Link>
      </p>
      <Form method="get" className="table-tools" aria-label="Period under review">
        <div className="field-md">
          <label htmlFor="from">From (UTC day)</label>
          <input id="from" name="from" type="date" defaultValue={data.fromDay} />
        </div>
        <div className="field-md">
          <label htmlFor="to">To (UTC day, included)</label>
          <input id="to" name="to" type="date" defaultValue={data.toDay} />
        </div>
        <button type="submit">Show</button>
      </Form>
      <p className="muted">
        {data.fromDay} to {data.toDay} (UTC). Break-glass uses waiting for review are listed
        whatever their date. The CSV download is recorded in the audit trail.
      </p>

      <div className="cards spaced">
        <Figure
          href="#break-glass"
          count={data.waiting.length}
          label="break-glass uses waiting for review"
        />
        <Figure
          href="#outside"
          count={data.outside.count}
          label="views outside their grant (should be 0)"
        />
        <Figure
          href="#lookup-limit"
          count={data.overLimit.length}
          label="staff-days over the lookup limit"
        />
        <Figure href="#revocations" count={data.revoked.length} label="revocations" />
      </div>

      <section aria-labelledby="break-glass" data-testid="break-glass-waiting">
        <h2 id="break-glass">Break-glass uses waiting for review</h2>
        <p className="muted">
          Review each: someone other than the person who broke glass checks the justification and
          what was viewed. Until then that person cannot break glass again.
        </p>
        <DataTable
          caption={`${data.waiting.length} break-glass use${data.waiting.length === 1 ? '' : 's'} not yet reviewed`}
          columns={waitingColumns}
          data={data.waiting}
          getRowId={(r) => r.grantId}
          empty="None: every break-glass use has been reviewed."
        />
      </section>

      <section aria-labelledby="outside" data-testid="views-outside">
        <h2 id="outside">Views outside the categories or time of a grant</h2>
        <p className="muted">
          Every view and reveal of personal data in the audit trail, checked against the grant it
          names: the same staff member and user, a category the grant covers, and a time within its
          window and before any revocation. None should exist;{' '}
          <strong data-testid="views-outside-count">{data.outside.count}</strong> found in this
          period
          {data.outside.count > data.outside.rows.length
            ? ` (the latest ${data.outside.rows.length} shown)`
            : ''}
          .
        </p>
        <DataTable
          caption="Views and reveals outside their grant, newest first"
          columns={outsideColumns}
          data={data.outside.rows}
          getRowId={(r) => String(r.seq)}
          empty="None: every view in this period was covered by its grant."
        />
      </section>

      <section aria-labelledby="lookup-limit" data-testid="lookup-limit">
        <h2 id="lookup-limit">Staff over their daily lookup limit</h2>
        <p className="muted">
          Each staff member may look up a limited number of different users a day; lookups beyond it
          are refused and security reviewers are alerted. Select a name for that day’s lookups.
        </p>
        <DataTable
          caption="Days on which a staff member’s lookups were refused for the daily limit"
          columns={limitColumns}
          data={data.overLimit}
          getRowId={(r) => `${r.staffId}-${r.day}`}
          empty="Nobody reached the lookup limit in this period."
        />
      </section>

      <section aria-labelledby="per-staff" data-testid="grants-per-staff">
        <h2 id="per-staff">Grants per staff member</h2>
        <p className="muted">
          Requests made in the period, by requester; select a name for the list.
        </p>
        <DataTable
          caption="Grants requested in the period, per staff member, by name"
          columns={staffColumns(data.fromDay, data.toDay)}
          data={data.perStaff.rows}
          getRowId={(r) => r.staffId}
          next={data.perStaff.next}
          empty="Nobody requested access in this period."
        />
      </section>

      <section aria-labelledby="revocations" data-testid="revocations">
        <h2 id="revocations">Revocations</h2>
        <DataTable
          caption={`Grants revoked in the period, newest first${data.revoked.length >= 100 ? ` (the latest ${capped(data.revoked.length, 100)})` : ''}`}
          columns={revokedColumns}
          data={data.revoked}
          getRowId={(r) => r.grantId}
          empty="No grant was revoked in this period."
        />
      </section>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
