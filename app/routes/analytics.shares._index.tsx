import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { Time } from '#app/components/time.tsx';
import { SharesQuerySchema } from '#app/modules/analytics/input.server.ts';
import { listShares } from '#app/modules/analytics/shares.server.ts';
import { requiresAny } from '#app/modules/auth/access.ts';
import { countOf } from '#app/modules/labels.ts';
import { decodeCursor, encodeCursor, KeysetCursorSchema } from '#app/utils/cursor.server.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';

// The sharing log of analytics (issue 15, ADR 037): what released figures went to which recipient
// of the record of processing, when and by whom, with the CSV's row count and SHA-256. Read by
// privacy officers and security reviewers; holders of analytics:share also see the way to share
// and each share's CSV.

export const access = requiresAny('privacy:process', 'security:review');

export const meta: MetaFunction = () => [{ title: 'Sharing log · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const raw = Object.fromEntries(
    [...new URL(args.request.url).searchParams].filter(([, v]) => v !== ''),
  );
  const query = attempt(() => parseParams(SharesQuerySchema, raw));
  // A cursor made for the other sort, or edited by hand, has no time where one is sorted on.
  const after = attempt(() =>
    decodeCursor(
      query.sort === 'shared'
        ? KeysetCursorSchema.refine((c) => !Number.isNaN(Date.parse(c.value)))
        : KeysetCursorSchema,
      query.after,
    ),
  );
  const page = await listShares({ sort: query.sort, dir: query.dir, after, limit: 25 });
  return json({
    rows: page.rows,
    next: encodeCursor(page.next),
    sort: query.sort,
    dir: query.dir,
    canShare: me.permissions.has('analytics:share'),
  });
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;
type Row = Data['rows'][number];
const col = columnHelper<Row>();

function columnsFor(canShare: boolean) {
  return col.columns([
    col.accessor('sharedAt', {
      id: 'shared',
      header: 'Shared (UTC)',
      cell: (info) => <Time iso={info.getValue()} zone={false} />,
    }),
    col.accessor('recipientName', {
      id: 'recipient',
      header: 'Recipient',
      cell: (info) => (
        <>
          {info.getValue()}{' '}
          <span className="muted">(record v{info.row.original.recordVersion})</span>
        </>
      ),
    }),
    col.accessor('releases', {
      header: 'Releases',
      cell: ({ row: { original: r } }) => (
        <>
          {countOf(r.releases, 'release')}
          <br />
          <span className="muted">
            {r.first}
            {r.releases > 1 ? ` … ${r.last}` : ''}
          </span>
        </>
      ),
    }),
    col.accessor('datasets', {
      header: 'Datasets',
      cell: (info) => info.getValue().join(', '),
    }),
    col.accessor('rows', { header: 'Rows', cell: (info) => info.getValue().toLocaleString('en') }),
    col.accessor('sha256', {
      header: 'CSV SHA-256',
      cell: (info) => (
        <code className="short-id" title={info.getValue()}>
          {info.getValue().slice(0, 16)}…
        </code>
      ),
    }),
    col.accessor('sharedByName', {
      header: 'Shared by',
      cell: (info) => <StaffName name={info.getValue() ?? '—'} />,
    }),
    ...(canShare
      ? [
          col.display({
            id: 'csv',
            header: 'CSV',
            cell: ({ row: { original: r } }) => (
              <a href={`/analytics/shares/${r.id}/csv`} download>
                Download<span className="visually-hidden"> the CSV shared {r.sharedAt}</span>
              </a>
            ),
          }),
        ]
      : []),
  ]);
}

const COLUMNS = columnsFor(false);
const COLUMNS_WITH_CSV = columnsFor(true);

export default function SharingLogRoute() {
  const data = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-header">
        <h1>Sharing log</h1>
        {data.canShare ? (
          <Link className="button" to="/analytics/shares/new">
            Share released figures
          </Link>
        ) : null}
      </div>
      <p className="flush-top muted">
        Every hand-over of released analytics figures to a recipient of the record of processing:
        the recipient as the record named it then and the record’s version, the releases, the CSV’s
        rows and SHA-256, who shared it and when. Only stored releases are ever shared; each share
        is in the audit trail too (<code>analytics.share</code>).
      </p>
      <DataTable
        caption="Shares of released figures"
        columns={data.canShare ? COLUMNS_WITH_CSV : COLUMNS}
        data={data.rows}
        getRowId={(r) => r.id}
        sortable={{ shared: 'shared', recipient: 'recipient' }}
        sort={data.sort}
        dir={data.dir}
        next={data.next}
        empty="No released figures have been shared yet."
        testId="shares-table"
      />
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
