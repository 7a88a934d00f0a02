import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useFetcher, useLoaderData, useSearchParams } from '@remix-run/react';
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { isolatedPlainText, StaffName } from '#app/components/isolated-text.tsx';
import { GrantQuerySchema } from '#app/modules/access/input.server.ts';
import {
  COUNT_CAP,
  countGrants,
  GRANT_VIEWS,
  listGrants,
  type GrantView,
} from '#app/modules/access/list.server.ts';
import { categoryLabel, minutesText, StateBadge } from '#app/components/access/grant-ui.tsx';
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
import {
  cappedCount,
  countOf,
  GRANT_STATE_LABELS,
  label,
  REASON_CODE_LABELS,
} from '#app/modules/labels.ts';

export const access = requires('grants:request');

export const meta: MetaFunction = () => [{ title: 'Access grants · Custodian' }];

const FILTER_KEYS = ['state', 'user', 'requester', 'category', 'reason', 'from', 'to'] as const;

const VIEW_LABELS: Record<GrantView, string> = {
  mine: 'My requests',
  to_decide: 'Waiting for my decision',
  active: 'Active grants',
  history: 'History',
};

/** How much of a justification the queue carries; the grant page shows all of it. */
const JUSTIFICATION_PREVIEW = 240;

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
  const defaultView: GrantView = canDecide ? 'to_decide' : 'mine';
  // Someone who cannot decide, sent to the approvers' queue (an old link, a colleague's address),
  // gets their own queue with a word on why, not an empty table under no tab.
  const notDecider = q.view === 'to_decide' && !canDecide;
  const view: GrantView = notDecider ? defaultView : (q.view ?? defaultView);
  const views = GRANT_VIEWS.filter((v) => v !== 'to_decide' || canDecide);
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
  const [names, counts] = await Promise.all([
    q.requester ? staffNames([q.requester]) : Promise.resolve({} as Record<string, string>),
    Promise.all(views.map(async (v) => [v, await countGrants({ view: v, staff: me })] as const)),
  ]);
  const requesterName = q.requester ? (names[q.requester] ?? null) : null;
  return json({
    view,
    views,
    counts: Object.fromEntries(counts),
    countCap: COUNT_CAP,
    notice: notDecider ? ('not_decider' as const) : null,
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
      justification:
        r.justification.length > JUSTIFICATION_PREVIEW
          ? `${r.justification.slice(0, JUSTIFICATION_PREVIEW).trimEnd()}…`
          : r.justification,
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
    header: 'Why',
    cell: (info) => {
      const r = info.row.original;
      return (
        <div className="grant-why">
          <span className="nowrap">{label('reason', info.getValue())}</span>
          {r.ticketRef ? (
            <>
              {' · '}
              <span className="nowrap grant-ticket" data-testid="grant-ticket">
                {r.ticketRef}
              </span>
            </>
          ) : null}
          <span className="clamped muted" data-testid="grant-justification">
            {r.justification || 'Justification removed by the retention policy'}
          </span>
        </div>
      );
    },
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
            {r.approvals} of {countOf(r.approvalsNeeded, 'approval')};{' '}
            {minutesText(r.durationMinutes)}
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

interface Decided {
  grantId: string;
  done: string;
  status: string;
}

/** How a row's decision form tells the page what happened once its row has left the queue. */
const DecidedContext = createContext<(d: Decided) => void>(() => {});

const DONE_TEXT: Record<string, (status: string) => string> = {
  approve: (status) =>
    status === 'approved'
      ? 'approved: the grant is live from its start until its end'
      : 'your approval is recorded; it still needs another person’s approval',
  deny: () => 'denied; the requester has been told',
};

/**
 * Approve or deny from the queue: the grant page's own action, so the rules, the audit entry and
 * the answers are the same. Without JavaScript it is a plain form and the grant page shows the
 * outcome; with it, the queue reloads and the row leaves it.
 */
function DecideForm({ row }: { row: Row }) {
  const fetcher = useFetcher<{
    ok: boolean;
    done?: string;
    status?: string;
    fieldErrors?: Record<string, string | undefined>;
    formError?: string | null;
  }>({ key: `decide-${row.id}` });
  const report = useContext(DecidedContext);
  const input = useRef<HTMLInputElement>(null);
  const answer = fetcher.state === 'idle' ? fetcher.data : undefined;
  const error = answer && !answer.ok ? (answer.fieldErrors?.comment ?? null) : null;
  const refusal =
    answer && !answer.ok
      ? (answer.formError ?? answer.fieldErrors?.intent ?? (error ? null : 'Not decided.'))
      : null;
  useEffect(() => {
    const data = fetcher.data;
    if (data?.ok && data.done && data.status) {
      report({ grantId: row.id, done: data.done, status: data.status });
    }
  }, [fetcher.data, report, row.id]);
  useEffect(() => {
    if (error) input.current?.focus();
  }, [error, answer]);
  const id = `decide-${row.id}`;
  const busy = fetcher.state !== 'idle';
  return (
    <fetcher.Form
      method="post"
      action={`/grants/${row.id}`}
      className="row-decision"
      noValidate
      data-testid="row-decision"
    >
      <label htmlFor={id} className="visually-hidden">
        Comment on the request by{' '}
        {row.requesterName ? isolatedPlainText(row.requesterName) : 'a staff member'}, kept with
        your decision
      </label>
      <input
        ref={input}
        id={id}
        name="comment"
        type="text"
        maxLength={1000}
        autoComplete="off"
        placeholder="Comment (needed to deny)"
        aria-invalid={error ? true : undefined}
        aria-describedby={error || refusal ? `${id}-error` : undefined}
      />
      <span className="row">
        <button type="submit" name="intent" value="approve" disabled={busy}>
          Approve
        </button>
        <button type="submit" name="intent" value="deny" className="danger" disabled={busy}>
          Deny
        </button>
      </span>
      {error || refusal ? (
        <span id={`${id}-error`} className="field-error" role="alert">
          {error ?? refusal}
        </span>
      ) : null}
    </fetcher.Form>
  );
}

// Every row of this queue is pending: its state column gives way to the decision (1366 wide).
const decideColumns = [
  ...columns.filter((c) => (c as { accessorKey?: string }).accessorKey !== 'state'),
  col.display({
    id: 'decision',
    header: 'Your decision',
    cell: (info) => <DecideForm row={info.row.original} />,
  }),
];

/** A tab's count as people read it: 1,000+ past the cap. */
function countText(n: number | undefined, cap: number) {
  if (n === undefined) return null;
  return cappedCount(Math.min(n, cap), n >= cap);
}

export default function GrantsRoute() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const value = (name: string) => params.get(name) ?? '';
  const filtered = FILTER_KEYS.some((k) => params.get(k));
  const [decided, setDecided] = useState<Decided[]>([]);
  const report = useRef((d: Decided) =>
    setDecided((list) => [d, ...list.filter((x) => x.grantId !== d.grantId)].slice(0, 5)),
  ).current;
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
          {data.views.map((v) => {
            const current = v === data.view;
            const count = countText(data.counts[v], data.countCap);
            return (
              <li key={v}>
                <Link
                  to={tab(v)}
                  aria-current={current ? 'page' : undefined}
                  data-testid={`tab-${v}`}
                >
                  {VIEW_LABELS[v]}
                  {count !== null ? (
                    <>
                      {' '}
                      <span className="tab-count" data-testid={`tab-count-${v}`}>
                        {count}
                      </span>
                    </>
                  ) : null}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      {data.notice === 'not_decider' ? (
        <p className="notice" role="status" data-testid="queue-notice">
          Only staff who may approve grants have a queue of requests to decide, and your roles do
          not include an approver permission. Showing your own requests instead.
        </p>
      ) : null}
      {decided.length > 0 ? (
        <ul className="notice plain-list" role="status" data-testid="decided">
          {decided.map((d) => (
            <li key={d.grantId}>
              <Link to={`/grants/${d.grantId}`}>
                Grant <ShortId id={d.grantId} />
              </Link>{' '}
              {DONE_TEXT[d.done]?.(d.status) ?? d.done}.
            </li>
          ))}
        </ul>
      ) : null}
      <Form method="get" className="table-tools" role="search" aria-label="Filter the grants">
        <input type="hidden" name="view" value={data.view} />
        {data.requesterName !== null || params.get('requester') ? (
          <input type="hidden" name="requester" value={value('requester')} />
        ) : null}
        <div className="field-sm">
          <label htmlFor="state">State</label>
          <select id="state" name="state" defaultValue={value('state')}>
            <option value="">Any state</option>
            {Object.entries(GRANT_STATE_LABELS).map(([code, name]) => (
              <option key={code} value={code}>
                {name}
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
                {REASON_CODE_LABELS[c]}
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
      <DecidedContext.Provider value={report}>
        <DataTable
          caption={`${VIEW_LABELS[data.view]}${filtered ? ', matching the filters' : ''}`}
          columns={data.view === 'to_decide' ? decideColumns : columns}
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
      </DecidedContext.Provider>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
