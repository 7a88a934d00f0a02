import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { GrantQuerySchema } from '#app/modules/access/input.server.ts';
import { listGrants, type GrantView } from '#app/modules/access/list.server.ts';
import {
  categoryLabel,
  minutesText,
  REASON_LABELS,
  STATE_LABELS,
  StateBadge,
} from '#app/components/access/grant-ui.tsx';
import { ShortId } from '#app/components/short-id.tsx';
import { Time } from '#app/components/time.tsx';
import { staffNames } from '#app/modules/staff-names.server.ts';
import { APPROVER_PERMISSIONS } from '#app/modules/access/vocabulary.ts';
import { guard } from '#app/utils/guard.server.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { answer, attempt } from '#app/utils/http.server.ts';
import { CursorError } from '#app/utils/cursor.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { DATA_CATEGORIES, REASON_CODES } from '#app/modules/vocabulary.ts';

export const access = requires('grants:request');

export const meta: MetaFunction = () => [{ title: 'Access grants · Custodian' }];

const FILTER_KEYS = ['state', 'user', 'requester', 'category', 'reason', 'from', 'to'] as const;

const VIEW_LABELS: Record<GrantView, string> = {
  mine: 'My requests',
  to_decide: 'Waiting for my decision',
  active: 'Active grants',
  history: 'History',
};

const EMPTY: Record<GrantView, string> = {
  mine: 'You have not requested any access yet. Find a user, then request the categories the inquiry needs.',
  to_decide: 'No request waits for your decision.',
  active: 'No grant is active now.',
  history: 'No grant yet.',
};

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const params = new URL(args.request.url).searchParams;
  const q = attempt(() =>
    parseParams(GrantQuerySchema, Object.fromEntries([...params].filter(([, v]) => v !== ''))),
  );
  const canDecide = APPROVER_PERMISSIONS.some((p) => me.permissions.has(p));
  const view: GrantView = q.view ?? (canDecide ? 'to_decide' : 'mine');
  let page;
  try {
    page = await listGrants({
      view,
      staff: me,
      filters: {
        state: q.state,
        userId: q.user,
        requesterId: q.requester,
        category: q.category,
        reasonCode: q.reason,
        from: q.from,
        to: q.to,
      },
      cursor: q.after,
      limit: 25,
    });
  } catch (error) {
    // The module names its own `cursor`; the address calls it `after`.
    answer(error instanceof CursorError ? new CursorError('after') : error);
  }
  const requesterName = q.requester
    ? ((await staffNames([q.requester]))[q.requester] ?? null)
    : null;
  return json({
    view,
    canDecide,
    canBreakGlass: me.permissions.has('grants:break_glass'),
    requesterName,
    rows: page.rows.map((r) => ({
      id: r.id,
      decide: view === 'to_decide',
      createdAt: r.createdAt,
      requesterName: r.requesterName,
      mine: r.requesterId === me.staffId,
      userId: r.userId,
      categories: r.categories,
      reasonCode: r.reasonCode,
      ticketRef: r.ticketRef,
      durationMinutes: r.durationMinutes,
      state: r.state,
      breakGlass: r.breakGlass,
      startsAt: r.startsAt,
      endsAt: r.endsAt,
      requestExpiresAt: r.requestExpiresAt,
      approvals: r.approvals,
      approvalsNeeded: r.approvalsNeeded,
    })),
    next: page.next ?? null,
  });
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];

const col = columnHelper<Row>();
const columns = col.columns([
  col.accessor('id', {
    header: 'Grant',
    cell: (info) => (
      <Link to={`/grants/${info.getValue()}`} className="nowrap">
        {info.row.original.decide ? 'Decide' : 'Open'} <ShortId id={info.getValue()} />
      </Link>
    ),
  }),
  col.accessor('createdAt', {
    header: 'Requested (UTC)',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
  col.accessor('requesterName', {
    header: 'Requester',
    cell: (info) => (
      <>
        <StaffName name={info.getValue()} />
        {info.row.original.mine ? ' (you)' : null}
      </>
    ),
  }),
  col.accessor('userId', {
    header: 'End user',
    cell: (info) =>
      info.row.original.state === 'active' && info.row.original.mine ? (
        <Link to={`/users/${info.getValue()}`} title="Open the user’s data">
          <ShortId id={info.getValue()} />
        </Link>
      ) : (
        <ShortId id={info.getValue()} />
      ),
  }),
  col.accessor('categories', {
    header: 'Categories',
    cell: (info) => <span className="words">{info.getValue().map(categoryLabel).join(', ')}</span>,
  }),
  col.accessor('reasonCode', {
    header: 'Reason',
    cell: (info) => (
      <>
        {REASON_LABELS[info.getValue()] ?? info.getValue()}
        {info.row.original.ticketRef ? (
          <>
            <br />
            <span className="muted">{info.row.original.ticketRef}</span>
          </>
        ) : null}
      </>
    ),
  }),
  col.accessor('state', {
    header: 'State',
    cell: (info) => (
      <StateBadge state={info.getValue()} breakGlass={info.row.original.breakGlass} />
    ),
  }),
  col.display({
    id: 'window',
    header: 'When',
    cell: (info) => {
      const r = info.row.original;
      if (r.state === 'pending') {
        return (
          <>
            {r.approvals} of {r.approvalsNeeded} approvals; {minutesText(r.durationMinutes)}
            <br />
            <span className="muted">
              expires <Time iso={r.requestExpiresAt} />
            </span>
          </>
        );
      }
      if (r.startsAt) {
        return (
          <>
            <Time iso={r.startsAt} /> →<br />
            <Time iso={r.endsAt} />
          </>
        );
      }
      return <span className="muted">—</span>;
    },
  }),
]);

export default function GrantsRoute() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const value = (name: string) => params.get(name) ?? '';
  const filtered = FILTER_KEYS.some((k) => params.get(k));
  const tab = (view: GrantView) => {
    const next = new URLSearchParams();
    next.set('view', view);
    return `?${next.toString()}`;
  };
  return (
    <>
      <div className="page-header">
        <h1>Access grants</h1>
        <div className="row">
          {data.canBreakGlass ? (
            <Link className="button secondary" to="/grants/break-glass">
              Break glass…
            </Link>
          ) : null}
          <Link className="button" to="/grants/new">
            Request access
          </Link>
        </div>
      </div>
      <nav aria-label="Grant queues" className="tabs">
        <ul>
          {(Object.keys(VIEW_LABELS) as GrantView[])
            .filter((v) => v !== 'to_decide' || data.canDecide)
            .map((v) => {
              const current = v === data.view;
              return (
                <li key={v}>
                  <Link to={tab(v)} aria-current={current ? 'page' : undefined}>
                    {VIEW_LABELS[v]}
                  </Link>
                </li>
              );
            })}
        </ul>
      </nav>
      <Form method="get" className="table-tools" role="search" aria-label="Filter the grants">
        <input type="hidden" name="view" value={data.view} />
        {data.requesterName !== null || params.get('requester') ? (
          <input type="hidden" name="requester" value={value('requester')} />
        ) : null}
        <div className="field-sm">
          <label htmlFor="state">State</label>
          <select id="state" name="state" defaultValue={value('state')}>
            <option value="">Any state</option>
            {Object.entries(STATE_LABELS).map(([code, label]) => (
              <option key={code} value={code}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field-sm">
          <label htmlFor="category">Category</label>
          <select id="category" name="category" defaultValue={value('category')}>
            <option value="">Any category</option>
            {DATA_CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {categoryLabel(c)}
              </option>
            ))}
          </select>
        </div>
        <div className="field-md">
          <label htmlFor="reason">Reason</label>
          <select id="reason" name="reason" defaultValue={value('reason')}>
            <option value="">Any reason</option>
            {REASON_CODES.map((c) => (
              <option key={c} value={c}>
                {REASON_LABELS[c]}
              </option>
            ))}
          </select>
        </div>
        <div className="field-xl">
          <label htmlFor="user">End user id</label>
          <input id="user" name="user" type="search" defaultValue={value('user')} />
        </div>
        <div className="field-md">
          <label htmlFor="from">Requested from (UTC)</label>
          <input id="from" name="from" type="datetime-local" defaultValue={value('from')} />
        </div>
        <div className="field-md">
          <label htmlFor="to">Requested before (UTC)</label>
          <input id="to" name="to" type="datetime-local" defaultValue={value('to')} />
        </div>
        <button type="submit">Filter</button>
        {filtered ? <Link to={tab(data.view)}>Clear</Link> : null}
      </Form>
      {params.get('requester') ? (
        <p className="muted">
          Requested by{' '}
          {data.requesterName === null ? (
            'an unknown staff member'
          ) : (
            <StaffName name={data.requesterName} />
          )}{' '}
          only.{' '}
          <Link
            to={`?${new URLSearchParams([...params].filter(([k]) => k !== 'requester' && k !== 'after')).toString()}`}
          >
            Show everyone’s
          </Link>
        </p>
      ) : null}
      <DataTable
        caption={`${VIEW_LABELS[data.view]}${filtered ? ', matching the filters' : ''}`}
        columns={columns}
        data={data.rows}
        getRowId={(r) => r.id}
        next={data.next}
        empty={
          filtered ? (
            'No grant matches these filters.'
          ) : data.view === 'mine' ? (
            <>
              {EMPTY.mine} <Link to="/users">Find a user</Link>
            </>
          ) : (
            EMPTY[data.view]
          )
        }
      />
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
