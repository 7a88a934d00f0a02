import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { SelectField } from '#app/components/form-field.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { Time } from '#app/components/time.tsx';
import { requires } from '#app/modules/auth/access.ts';
import { listInquiries } from '#app/modules/inquiries/inquiries.server.ts';
import { InquiryQuerySchema } from '#app/modules/inquiries/input.server.ts';
import {
  INQUIRY_CATEGORIES,
  INQUIRY_CATEGORY_LABELS,
  INQUIRY_STATE_LABELS,
  INQUIRY_STATES,
} from '#app/modules/inquiries/vocabulary.ts';
import { now } from '#app/modules/clock.server.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt } from '#app/utils/http.server.ts';

// The agent's queue of support inquiries (ADR 034): mine, unassigned, due soon, open, closed.
// Category, state, age and the masked email: never the subject nor the thread.
export const access = requires('inquiries:answer');

export const meta: MetaFunction = () => [{ title: 'Inquiries · Custodian' }];

const VIEW_LABELS = {
  mine: 'Assigned to me',
  unassigned: 'Unassigned',
  due_soon: 'Due soon or overdue',
  open: 'All open',
  closed: 'Closed',
} as const;

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const params = new URL(args.request.url).searchParams;
  const query = attempt(() =>
    parseParams(InquiryQuerySchema, Object.fromEntries([...params].filter(([, v]) => v !== ''))),
  );
  const page = await listInquiries(me, query).catch(answer);
  const at = now().getTime();
  return json({
    view: query.view,
    rows: page.rows.map((r) => ({
      id: r.id,
      category: r.category,
      state: r.state,
      emailMasked: r.emailMasked,
      assigneeName: r.assigneeName,
      receivedAt: r.receivedAt.toISOString(),
      ageHours: Math.max(0, Math.floor((at - r.receivedAt.getTime()) / 3_600_000)),
      dueAt: r.dueAt.toISOString(),
      overdue: r.state !== 'closed' && r.dueAt.getTime() < at,
    })),
    next: page.next,
  });
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];
const col = columnHelper<Row>();

function ageText(hours: number) {
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}

const COLUMNS = col.columns([
  col.accessor('receivedAt', {
    header: 'Received (UTC)',
    cell: (info) => (
      <Link to={`/inquiries/${info.row.original.id}`}>
        <Time iso={info.getValue()} zone={false} />
      </Link>
    ),
  }),
  col.accessor('ageHours', { header: 'Age', cell: (info) => ageText(info.getValue()) }),
  col.accessor('category', {
    header: 'Category',
    cell: (info) => INQUIRY_CATEGORY_LABELS[info.getValue()],
  }),
  col.accessor('state', {
    header: 'State',
    cell: (info) => <span className="badge">{INQUIRY_STATE_LABELS[info.getValue()]}</span>,
  }),
  col.accessor('emailMasked', {
    header: 'User',
    cell: (info) => <span className="mono">{info.getValue() ?? '—'}</span>,
  }),
  col.accessor('dueAt', {
    header: 'Next target (UTC)',
    cell: (info) => (
      <>
        <Time iso={info.getValue()} zone={false} />
        {info.row.original.overdue ? <span className="badge danger">overdue</span> : null}
      </>
    ),
  }),
  col.accessor('assigneeName', {
    header: 'Assignee',
    cell: (info) =>
      info.getValue() ? (
        <StaffName name={info.getValue()!} />
      ) : (
        <span className="muted">nobody</span>
      ),
  }),
]);

export default function InquiryQueueRoute() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  return (
    <main>
      <h1>Inquiries</h1>
      <p className="muted">
        Users’ support inquiries. Taking or being given one opens its thread to you alone until it
        closes or goes to someone else; every read is recorded in the audit trail. The queue shows
        no subject and no message.
      </p>
      <nav aria-label="Inquiry views" className="row">
        {Object.entries(VIEW_LABELS).map(([view, label]) => (
          <Link
            key={view}
            to={`/inquiries?view=${view}`}
            aria-current={data.view === view ? 'page' : undefined}
            className={data.view === view ? 'button' : undefined}
          >
            {label}
          </Link>
        ))}
      </nav>
      <Form method="get" className="table-tools" role="search" aria-label="Filter inquiries">
        <input type="hidden" name="view" value={data.view} />
        <SelectField
          label="Category"
          name="category"
          defaultValue={params.get('category') ?? ''}
          options={[
            ['', 'Any'],
            ...INQUIRY_CATEGORIES.map((c) => [c, INQUIRY_CATEGORY_LABELS[c]] as const),
          ]}
        />
        <SelectField
          label="State"
          name="state"
          defaultValue={params.get('state') ?? ''}
          options={[
            ['', 'Any'],
            ...INQUIRY_STATES.map((s) => [s, INQUIRY_STATE_LABELS[s]] as const),
          ]}
        />
        <button type="submit">Filter</button>
      </Form>
      <DataTable
        caption={`Inquiries: ${VIEW_LABELS[data.view].toLowerCase()}, oldest first`}
        columns={COLUMNS}
        data={data.rows}
        getRowId={(r) => r.id}
        next={data.next}
        empty="No inquiry here."
      />
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
