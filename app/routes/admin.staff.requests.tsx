import type {
  ActionFunctionArgs,
  HeadersFunction,
  LoaderFunctionArgs,
  MetaFunction,
} from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { utc, utcDate } from '#app/components/time.tsx';
import { RoleDecisionSchema, RoleRequestQuerySchema } from '#app/modules/access/input.server.ts';
import {
  decideRoleRequest,
  listRoleRequests,
  type RoleRefusal,
} from '#app/modules/access/role-requests.server.ts';
import { requiresAny } from '#app/modules/auth/access.ts';
import { ROLE_NAMES } from '#app/modules/auth/permissions.ts';
import { ROLE_REQUEST_STATUSES } from '#app/modules/auth/vocabulary.ts';
import { decodeCursor, encodeCursor, KeysetCursorSchema } from '#app/utils/cursor.server.ts';
import { formObject, parseForm, parseParams } from '#app/utils/forms.server.ts';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';

// Role requests (ADR 021): roles that reach personal data or decide access, waiting for a second
// person. Admins and security reviewers decide them; nobody decides their own request.
export const access = requiresAny('staff:manage', 'security:review');

/** An approval's answer holds the one-time link: it carries the action's no-store. */
export const headers: HeadersFunction = ({ actionHeaders }) => actionHeaders;

export const meta: MetaFunction = () => [{ title: 'Role requests · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const raw = Object.fromEntries(
    [...new URL(args.request.url).searchParams].filter(([, v]) => v !== ''),
  );
  const query = attempt(() => parseParams(RoleRequestQuerySchema, raw));
  const after = attempt(() =>
    decodeCursor(
      query.sort === 'requested'
        ? KeysetCursorSchema.refine((c) => !Number.isNaN(Date.parse(c.value)))
        : KeysetCursorSchema,
      query.after,
    ),
  );
  const page = await listRoleRequests({
    ...query,
    status: query.status === 'all' ? undefined : query.status,
    after,
    limit: 25,
  });
  return json({
    rows: page.rows.map((r) => ({
      id: r.id,
      staffId: r.staffId,
      staffName: r.staffName,
      staffEmail: r.staffEmail,
      roles: r.roles,
      status: r.status,
      requestedAt: r.requestedAt.toISOString(),
      requesterName: r.requesterName,
      deciderName: r.deciderName,
      decidedAt: r.decidedAt?.toISOString() ?? null,
      mine: r.requestedBy === me.staffId,
      aboutMe: r.staffId === me.staffId,
    })),
    next: encodeCursor(page.next),
    sort: query.sort,
    dir: query.dir,
    status: query.status,
    canManageStaff: me.permissions.has('staff:manage'),
  });
}

const REFUSALS: Record<RoleRefusal, { status: number; message: string }> = {
  not_found: { status: 404, message: 'No role request has this id.' },
  not_pending: { status: 409, message: 'This request is no longer pending: it was decided.' },
  own_request: {
    status: 403,
    message:
      'You asked for these roles, so you cannot approve or reject them: another admin or a security reviewer must decide.',
  },
  own_account: {
    status: 403,
    message: 'This request is about your own account: somebody else must decide it.',
  },
  missing_permission: {
    status: 403,
    message: 'Only an admin or a security reviewer decides role requests.',
  },
  not_requester: {
    status: 403,
    message: 'Only the one who asked can withdraw a request; approvers reject it instead.',
  },
  account_disabled: {
    status: 409,
    message: 'The account is disabled: enable it first, or reject the request.',
  },
};

type ActionData =
  | { error: string; field?: string }
  | { decided: 'reject' | 'withdraw'; staffId: string }
  | { decided: 'approve'; staffId: string; email: string; link: string; expiresAt: string };

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const parsed = parseForm(RoleDecisionSchema, formObject(await args.request.formData()));
  if (!parsed.ok) {
    const [field, message] = Object.entries(parsed.fieldErrors)[0]!;
    return json<ActionData>({ error: message, field }, { status: 400 });
  }
  if (parsed.value.intent === 'approve') {
    await requireRecentSecondFactor(me, 'staff.role_approve', '/admin/staff/requests');
  }
  const result = await decideRoleRequest({
    requestId: parsed.value.request,
    decision: parsed.value.intent,
    actor: me,
  });
  if (!result.ok) {
    const refusal = REFUSALS[result.reason];
    return json<ActionData>({ error: refusal.message }, { status: refusal.status });
  }
  if (result.decision !== 'approve') {
    return json<ActionData>({ decided: result.decision, staffId: result.staffId });
  }
  // The link is shown here once and stored nowhere but as a hash: the answer must not be kept.
  const link = `${new URL(args.request.url).origin}/account/setup/${result.token}`;
  return json<ActionData>(
    {
      decided: 'approve',
      staffId: result.staffId,
      email: result.email,
      link,
      expiresAt: result.expiresAt.toISOString(),
    },
    { headers: { 'Cache-Control': 'no-store' } },
  );
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];
const col = columnHelper<Row>();
const columns = col.columns([
  col.accessor('staffName', {
    id: 'name',
    header: 'Account',
    cell: (info) => (
      <>
        <Link to={`/admin/staff/${info.row.original.staffId}`}>
          <StaffName name={info.getValue()} />
        </Link>
        <br />
        <span className="muted">{info.row.original.staffEmail}</span>
      </>
    ),
  }),
  col.accessor('roles', {
    header: 'Roles asked for',
    cell: (info) =>
      info.getValue().map((r) => (
        <span className="badge" key={r}>
          {ROLE_NAMES[r] ?? r}
        </span>
      )),
  }),
  col.accessor('requestedAt', {
    id: 'requested',
    header: 'Asked (UTC)',
    cell: (info) => (
      <>
        {utcDate(info.getValue())}
        <br />
        <span className="muted">
          by {info.row.original.mine ? 'you' : <StaffName name={info.row.original.requesterName} />}
        </span>
      </>
    ),
  }),
  col.accessor('status', {
    header: 'Status',
    cell: (info) => {
      const r = info.row.original;
      return (
        <>
          <span className={`badge ${r.status === 'approved' ? 'active' : ''}`}>{r.status}</span>
          {r.decidedAt ? (
            <>
              <br />
              <span className="muted">
                {r.deciderName ? (
                  <>
                    by <StaffName name={r.deciderName} />,{' '}
                  </>
                ) : null}
                {utc(r.decidedAt)}
              </span>
            </>
          ) : null}
        </>
      );
    },
  }),
  col.display({
    id: 'decide',
    header: 'Decision',
    cell: (info) => {
      const r = info.row.original;
      if (r.status !== 'pending') return <span className="muted">—</span>;
      if (r.mine) {
        return (
          <Form method="post" className="row">
            <span className="muted">You asked: another person decides.</span>
            <input type="hidden" name="request" value={r.id} />
            <button type="submit" name="intent" value="withdraw" className="secondary">
              Withdraw
            </button>
          </Form>
        );
      }
      if (r.aboutMe) return <span className="muted">About your own account</span>;
      return (
        <Form method="post" className="row">
          <input type="hidden" name="request" value={r.id} />
          <button type="submit" name="intent" value="approve">
            Approve
          </button>
          <button type="submit" name="intent" value="reject" className="danger">
            Reject
          </button>
        </Form>
      );
    },
  }),
]);

const STATUS_LABELS: Record<(typeof ROLE_REQUEST_STATUSES)[number] | 'all', string> = {
  pending: 'Pending',
  approved: 'Approved',
  rejected: 'Rejected',
  withdrawn: 'Withdrawn',
  superseded: 'Superseded',
  all: 'Any status',
};

export default function RoleRequestsRoute() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  return (
    <>
      {data.canManageStaff ? (
        <p>
          <Link to="/admin/staff">← All staff</Link>
        </p>
      ) : null}
      <h1>Role requests</h1>
      <p className="muted">
        Roles that reach personal data or decide access take a second person: another admin or a
        security reviewer approves them, never the one who asked. The approval ends the
        account&apos;s password and sessions; its holder then sets a password through a one-time
        link, shown to you once.
      </p>
      {result && 'error' in result ? (
        <p className="form-error" role="alert">
          {result.error}
        </p>
      ) : null}
      {result && 'decided' in result && result.decided === 'approve' ? (
        <div className="notice" role="status" data-testid="password-link">
          <p>
            Approved. Give this one-time link to {result.email} through a separate channel; it sets
            their password once and expires at {utc(result.expiresAt, 'second')}. It is not shown
            again.
          </p>
          <p>
            <code className="one-time-link">{result.link}</code>
          </p>
        </div>
      ) : result && 'decided' in result ? (
        <p className="notice" role="status">
          {result.decided === 'reject' ? 'Request rejected.' : 'Request withdrawn.'}
        </p>
      ) : null}
      <Form method="get" className="table-tools" role="search" aria-label="Filter role requests">
        <div>
          <label htmlFor="q">Account name or email contains</label>
          <input id="q" name="q" type="search" defaultValue={params.get('q') ?? ''} />
        </div>
        <div>
          <label htmlFor="status">Status</label>
          <select id="status" name="status" defaultValue={data.status}>
            {(['pending', 'approved', 'rejected', 'withdrawn', 'superseded', 'all'] as const).map(
              (s) => (
                <option key={s} value={s}>
                  {STATUS_LABELS[s]}
                </option>
              ),
            )}
          </select>
        </div>
        <input type="hidden" name="sort" value={data.sort} />
        <input type="hidden" name="dir" value={data.dir} />
        <button type="submit">Filter</button>
        <Link to="/admin/staff/requests">Clear</Link>
      </Form>
      <DataTable
        caption={data.status === 'pending' ? 'Pending role requests' : 'Role requests'}
        columns={columns}
        data={data.rows}
        getRowId={(r) => r.id}
        sortable={{ name: 'name', requested: 'requested' }}
        sort={data.sort}
        dir={data.dir}
        next={data.next}
        empty={
          data.status === 'pending'
            ? 'No role request is waiting for a decision.'
            : 'No role request matches these filters.'
        }
      />
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
