import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import {
  NotificationsActionSchema,
  NotificationsQuerySchema,
} from '#app/modules/access/input.server.ts';
import { countUnread, markNotificationsRead } from '#app/modules/access/notifications.server.ts';
import { categoryList } from '#app/components/access/grant-ui.tsx';
import { ShortId } from '#app/components/short-id.tsx';
import { Time } from '#app/components/time.tsx';
import { notificationsPage } from '#app/modules/access/ui-grants.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt } from '#app/utils/http.server.ts';
import { CursorError } from '#app/utils/cursor.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { formObject, parseForm, parseParams } from '#app/utils/forms.server.ts';

export const access = signedIn();

export const meta: MetaFunction = () => [{ title: 'Notifications · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const params = new URL(args.request.url).searchParams;
  const query = attempt(() =>
    parseParams(
      NotificationsQuerySchema,
      Object.fromEntries([...params].filter(([, v]) => v !== '')),
    ),
  );
  let page;
  try {
    page = await notificationsPage({
      staffId: me.staffId,
      unreadOnly: query.unread === '1',
      cursor: query.after,
      limit: 25,
    });
  } catch (error) {
    // The module names its own `cursor`; the address calls it `after`.
    answer(error instanceof CursorError ? new CursorError('after') : error);
  }
  return json({
    rows: page.rows,
    next: page.next ?? null,
    unread: await countUnread(me.staffId),
    unreadOnly: query.unread === '1',
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const parsed = parseForm(NotificationsActionSchema, formObject(await args.request.formData()));
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors, marked: null }, { status: 400 });
  const marked = await markNotificationsRead({
    staffId: me.staffId,
    ids: parsed.value.intent === 'read' ? [parsed.value.id] : undefined,
  });
  return json({ fieldErrors: {}, marked });
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];

function describe(r: Row) {
  const g = r.grant;
  const what = g ? categoryList(g.categories).toLowerCase() : 'data';
  const user = g ? (
    <>
      of user <ShortId id={g.userId} />
    </>
  ) : null;
  switch (r.kind) {
    case 'grant.requested':
      return (
        <>
          {g ? <StaffName name={g.requesterName} /> : 'Someone'} asks to see {what} {user}: waiting
          for your decision.
        </>
      );
    case 'grant.approved':
      return (
        <>
          Your request for {what} {user} was approved.
        </>
      );
    case 'grant.denied':
      return (
        <>
          Your request for {what} {user} was denied.
        </>
      );
    case 'grant.revoked':
      return (
        <>
          Your grant to {what} {user} was revoked.
        </>
      );
    case 'grant.expired':
      return (
        <>
          Your request for {what} {user} expired: nobody decided it within 24 hours.
        </>
      );
    case 'grant.break_glass':
      return (
        <>
          <strong>Break-glass:</strong> {g ? <StaffName name={g.requesterName} /> : 'Someone'}{' '}
          opened {what} {user} without approval. It needs a review.
        </>
      );
    case 'lookup.limit':
      return (
        <>
          {r.subjectName === null ? 'A staff member' : <StaffName name={r.subjectName} />} reached
          the daily limit of user lookups; further lookups are refused today.
        </>
      );
    case 'staff.role_requested':
      return (
        <>
          Roles that reach personal data or decide access were asked for{' '}
          {r.subjectName ?? 'a staff account'}: waiting for a second person.
        </>
      );
    case 'staff.roles_synced':
      return (
        <>
          A single sign-on changed the roles of {r.subjectName ?? 'a staff account'} from their
          groups at the identity provider.
        </>
      );
    case 'staff.passkey_clone':
      return (
        <>
          <strong>Passkey:</strong> a passkey of {r.subjectName ?? 'a staff account'} answered with
          a signature counter it had used before, the sign of a copied key; it was refused.
        </>
      );
    case 'audit.invalid_entry':
      return (
        <>
          <strong>Audit trail:</strong> entry #{r.auditSeq} is not a valid audit entry (it did not
          come through the audit writer, or was damaged). It is logged as it was queued; see which
          entries are affected on the verification page.
        </>
      );
    default:
      return <>{r.kind}</>;
  }
}

function target(r: Row) {
  if (r.grantId) {
    const label =
      r.kind === 'grant.requested'
        ? 'Decide'
        : r.kind === 'grant.break_glass'
          ? 'Review'
          : 'Open the grant';
    return <Link to={`/grants/${r.grantId}`}>{label}</Link>;
  }
  if (r.kind === 'lookup.limit') return <Link to="/security/access">Security review</Link>;
  if (r.kind === 'staff.role_requested') return <Link to="/admin/staff/requests">Decide</Link>;
  // Their recipients review (security:review, audit:read): the trail's entries about the account,
  // not the staff admin pages.
  const about = r.subjectStaffId ? `&subject=${r.subjectStaffId}` : '';
  if (r.kind === 'staff.passkey_clone') {
    return (
      <Link to={`/audit?action=auth.second_factor&outcome=denied${about}`}>See the refusals</Link>
    );
  }
  if (r.kind === 'staff.roles_synced') {
    return <Link to={`/audit?action=staff.roles_sync${about}`}>See the change</Link>;
  }
  if (r.kind === 'audit.invalid_entry' && r.auditSeq !== null) {
    return <Link to={`/audit/${r.auditSeq}`}>Open the entry</Link>;
  }
  return null;
}

const col = columnHelper<Row>();
const columns = col.columns([
  col.accessor('createdAt', {
    header: 'When (UTC)',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
  col.display({
    id: 'what',
    header: 'What',
    cell: (info) => (
      <span className={info.row.original.readAt ? undefined : 'strong'}>
        {describe(info.row.original)}
      </span>
    ),
  }),
  col.display({ id: 'open', header: 'Go to', cell: (info) => target(info.row.original) }),
  col.accessor('readAt', {
    header: 'Status',
    cell: (info) =>
      info.getValue() ? (
        <span className="muted">read</span>
      ) : (
        <Form method="post" className="mark-read">
          <span className="badge active">unread</span>
          <input type="hidden" name="intent" value="read" />
          <input type="hidden" name="id" value={info.row.original.id} />
          <button type="submit" className="secondary">
            Mark read
          </button>
        </Form>
      ),
  }),
]);

export default function NotificationsRoute() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const filter = new URLSearchParams(params);
  filter.delete('after');
  if (data.unreadOnly) filter.delete('unread');
  else filter.set('unread', '1');
  return (
    <>
      <div className="page-header">
        <h1>Notifications</h1>
        {data.unread > 0 ? (
          <Form method="post">
            <input type="hidden" name="intent" value="read-all" />
            <button type="submit" className="secondary">
              Mark all as read
            </button>
          </Form>
        ) : null}
      </div>
      <p className="muted" role="status" data-testid="unread-count">
        {data.unread === 0
          ? 'Nothing unread.'
          : `${data.unread} unread notification${data.unread === 1 ? '' : 's'}.`}{' '}
        <Link to={`?${filter.toString()}`}>
          {data.unreadOnly ? 'Show all' : 'Show unread only'}
        </Link>
      </p>
      {result && Object.keys(result.fieldErrors).length ? (
        <p className="form-error" role="alert">
          {Object.values(result.fieldErrors)[0]}
        </p>
      ) : null}
      <DataTable
        caption={data.unreadOnly ? 'Your unread notifications' : 'Your notifications, newest first'}
        columns={columns}
        data={data.rows}
        getRowId={(r) => r.id}
        next={data.next}
        empty={
          data.unreadOnly
            ? 'No unread notification.'
            : 'No notification yet. Decisions on your requests, requests waiting for you and alerts appear here.'
        }
      />
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
