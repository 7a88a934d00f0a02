import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { SelectField } from '#app/components/form-field.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { ShortId } from '#app/components/short-id.tsx';
import { Time } from '#app/components/time.tsx';
import { requires } from '#app/modules/auth/access.ts';
import { REGIME_RULES } from '#app/modules/privacy/deadlines.server.ts';
import { listRequests } from '#app/modules/privacy/requests.server.ts';
import {
  REGIMES,
  REQUEST_STATES,
  REQUEST_TYPES,
  STATE_LABELS,
  TYPE_LABELS,
} from '#app/modules/privacy/vocabulary.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

export const access = requires('privacy:process');

export const meta: MetaFunction = () => [{ title: 'Privacy requests · Custodian' }];

const FILTER_KEYS = ['state', 'type', 'regime', 'assignee', 'due'] as const;

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const params = Object.fromEntries(
    [...new URL(args.request.url).searchParams].filter(([, v]) => v !== ''),
  );
  const page = await listRequests(params, me).catch(answer);
  return json({
    rows: page.rows.map((r) => ({ ...r, receivedAt: r.receivedAt.toISOString() })),
    next: page.next,
    regimeLabels: Object.fromEntries(REGIMES.map((r) => [r, REGIME_RULES[r].label])),
  });
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];
const col = columnHelper<Row>();

function columns(regimeLabels: Record<string, string>) {
  return col.columns([
    col.accessor('dueDay', {
      header: 'Due (UTC)',
      cell: (info) => {
        const r = info.row.original;
        return (
          <>
            <Link to={`/privacy/${r.id}`}>{info.getValue()}</Link>
            {r.overdue ? <span className="badge danger">overdue</span> : null}
            {r.dueSoon ? <span className="badge warning">due soon</span> : null}
            {r.extended ? <span className="badge">extended</span> : null}
          </>
        );
      },
    }),
    col.accessor('type', { header: 'Type', cell: (info) => TYPE_LABELS[info.getValue()] }),
    col.accessor('state', {
      header: 'State',
      cell: (info) => (
        <>
          <span className="badge">{STATE_LABELS[info.getValue()]}</span>
          {info.row.original.verified ? null : <span className="badge">unverified</span>}
        </>
      ),
    }),
    col.accessor('regime', {
      header: 'Regime',
      cell: (info) => regimeLabels[info.getValue()] ?? info.getValue(),
    }),
    col.accessor('userId', {
      header: 'User',
      cell: (info) => <ShortId id={info.getValue()} />,
    }),
    col.accessor('receivedAt', {
      header: 'Received (UTC)',
      cell: (info) => <Time iso={info.getValue()} zone={false} />,
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
    col.accessor('duplicateOf', {
      header: 'Duplicate of',
      cell: (info) =>
        info.getValue() ? (
          <Link to={`/privacy/${info.getValue()}`}>
            <ShortId id={info.getValue()} />
          </Link>
        ) : (
          <span className="muted">—</span>
        ),
    }),
  ]);
}

export default function PrivacyQueueRoute() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const filtered = FILTER_KEYS.some((k) => params.get(k));
  return (
    <main>
      <div className="row spread">
        <h1>Privacy requests</h1>
        <Link className="button" to="/privacy/new">
          New request
        </Link>
      </div>
      <p className="muted">
        Open requests by deadline, earliest first. Deadlines follow the user’s regime (GDPR, CCPA or
        the service’s terms) and pause while the user is awaited. Erasures and denials take a second
        officer’s approval.
      </p>
      <p>
        <Link to="/privacy/metrics">Metrics: received, completed, denied, days to complete</Link>
        {' · '}
        <Link to="/privacy/record">Record of processing (Art. 30)</Link>
      </p>
      <Form method="get" className="table-tools" role="search" aria-label="Filter privacy requests">
        <SelectField
          label="State"
          name="state"
          defaultValue={params.get('state') ?? 'open'}
          options={[
            ['open', 'Open'],
            ['all', 'All'],
            ...REQUEST_STATES.map((s) => [s, STATE_LABELS[s]] as const),
          ]}
        />
        <SelectField
          label="Type"
          name="type"
          defaultValue={params.get('type') ?? ''}
          options={[['', 'Any'], ...REQUEST_TYPES.map((t) => [t, TYPE_LABELS[t]] as const)]}
        />
        <SelectField
          label="Regime"
          name="regime"
          defaultValue={params.get('regime') ?? ''}
          options={[['', 'Any'], ...REGIMES.map((r) => [r, data.regimeLabels[r] ?? r] as const)]}
        />
        <SelectField
          label="Assignee"
          name="assignee"
          defaultValue={params.get('assignee') ?? ''}
          options={[
            ['', 'Anyone'],
            ['me', 'Me'],
            ['none', 'Nobody'],
          ]}
        />
        <SelectField
          label="Deadline"
          name="due"
          defaultValue={params.get('due') ?? ''}
          options={[
            ['', 'Any'],
            ['overdue', 'Overdue'],
            ['soon', 'Due within 7 days'],
          ]}
        />
        <button type="submit">Filter</button>
        {filtered ? <Link to="/privacy">Clear</Link> : null}
      </Form>
      <DataTable
        caption="Privacy requests, by deadline"
        columns={columns(data.regimeLabels)}
        data={data.rows}
        getRowId={(r) => r.id}
        next={data.next}
        empty={
          filtered
            ? 'No privacy request matches these filters.'
            : 'No open privacy request: requests arrive from the product’s API or are entered here.'
        }
      />
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
