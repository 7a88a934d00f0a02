import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { StaffQuerySchema } from '#app/modules/auth/input.server.ts';
import { ROLE_NAMES, ROLES, type Role } from '#app/modules/auth/permissions.ts';
import { listStaff } from '#app/modules/auth/staff.server.ts';
import { decodeCursor, encodeCursor, KeysetCursorSchema } from '#app/utils/cursor.server.ts';
import { utcDate } from '#app/components/time.tsx';

export const access = requires('staff:manage');

export const meta: MetaFunction = () => [{ title: 'Staff · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const raw = Object.fromEntries(
    [...new URL(args.request.url).searchParams].filter(([, v]) => v !== ''),
  );
  const query = attempt(() => parseParams(StaffQuerySchema, raw));
  // A cursor made for another sort, or edited by hand, has no timestamp where one is sorted on.
  const after = attempt(() =>
    decodeCursor(
      query.sort === 'created'
        ? KeysetCursorSchema.refine((c) => !Number.isNaN(Date.parse(c.value)))
        : KeysetCursorSchema,
      query.after,
    ),
  );
  const page = await listStaff({ ...query, after, limit: 25 });
  return json({
    rows: page.rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
    next: encodeCursor(page.next),
    sort: query.sort,
    dir: query.dir,
  });
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];
const col = columnHelper<Row>();
const columns = col.columns([
  col.accessor('displayName', {
    id: 'name',
    header: 'Name',
    cell: (info) => (
      <Link to={`/admin/staff/${info.row.original.id}`}>
        <StaffName name={info.getValue()} />
      </Link>
    ),
  }),
  col.accessor('email', { id: 'email', header: 'Email' }),
  col.accessor('roles', {
    header: 'Roles',
    cell: (info) =>
      info.getValue().length ? (
        info.getValue().map((r) => (
          <span className="badge" key={r}>
            {ROLE_NAMES[r as Role] ?? r}
          </span>
        ))
      ) : (
        <span className="muted">none</span>
      ),
  }),
  col.accessor('status', {
    header: 'Status',
    cell: (info) => <span className={`badge ${info.getValue()}`}>{info.getValue()}</span>,
  }),
  col.accessor('createdAt', {
    id: 'created',
    header: 'Created (UTC)',
    cell: (info) => utcDate(info.getValue()),
  }),
]);

export default function StaffListRoute() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  return (
    <>
      <div className="row spread">
        <h1>Staff</h1>
        <span className="row">
          <Link className="button secondary" to="/admin/staff/requests">
            Role requests
          </Link>
          <Link className="button" to="/admin/staff/new">
            Add staff member
          </Link>
        </span>
      </div>
      <Form method="get" className="table-tools" role="search" aria-label="Filter staff">
        <div>
          <label htmlFor="q">Name or email contains</label>
          <input id="q" name="q" type="search" defaultValue={params.get('q') ?? ''} />
        </div>
        <div>
          <label htmlFor="role">Role</label>
          <select id="role" name="role" defaultValue={params.get('role') ?? ''}>
            <option value="">Any role</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_NAMES[r]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="status">Status</label>
          <select id="status" name="status" defaultValue={params.get('status') ?? ''}>
            <option value="">Any status</option>
            <option value="active">Active</option>
            <option value="disabled">Disabled</option>
          </select>
        </div>
        <input type="hidden" name="sort" value={data.sort} />
        <input type="hidden" name="dir" value={data.dir} />
        <button type="submit">Filter</button>
        <Link to="/admin/staff">Clear</Link>
      </Form>
      <DataTable
        caption="Staff accounts"
        columns={columns}
        data={data.rows}
        getRowId={(r) => r.id}
        sortable={{ name: 'name', email: 'email', created: 'created' }}
        sort={data.sort}
        dir={data.dir}
        next={data.next}
        empty="No staff account matches these filters."
      />
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
