import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { isolatedPlainText, StaffName } from '#app/components/isolated-text.tsx';
import { AUDIT_ACTION_CODES, describeAction } from '#app/modules/audit/catalogue.server.ts';
import {
  countAuditEntries,
  encodeTrailCursor,
  listAuditEntries,
  parseTrailQuery,
  PURGED_DESCRIPTION,
  TRAIL_PAGE_SIZES,
} from '#app/modules/audit/trail.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { staffChoices } from '#app/modules/auth/staff.server.ts';
import { ShortId } from '#app/components/short-id.tsx';
import { Time } from '#app/components/time.tsx';
import { CopyButton } from '#app/components/copy-button.tsx';
import { cappedCount, formatCount, label, unnamedActor } from '#app/modules/labels.ts';

export const access = requires('audit:read');

export const meta: MetaFunction = () => [{ title: 'Audit trail · Custodian' }];

// The search parameters are parsed by TrailQuerySchema (trail.server.ts), shared with the CSV
// download so both read the same filters the same way.
const OUTCOME_CHOICES = ['allowed', 'denied', 'failed'] as const;
const FILTER_KEYS = [
  'q',
  'actor',
  'subject',
  'user',
  'action',
  'outcome',
  'from',
  'to',
  'grant',
  'request',
];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const { filters, dir, cursor, back, size } = attempt(() =>
    parseTrailQuery(new URL(args.request.url).searchParams),
  );
  const [page, matching, actors] = await Promise.all([
    listAuditEntries(filters, { cursor, back, dir, limit: size }),
    countAuditEntries(filters),
    staffChoices(),
  ]);
  return json({
    rows: page.rows.map((r) => ({
      ...r,
      time: r.time?.toISOString() ?? null,
      description: r.purged
        ? PURGED_DESCRIPTION
        : r.invalid
          ? `Invalid entry: ${r.invalid}`
          : describeAction(r.action).description,
      details: detailsShown(r.details, r.purpose),
    })),
    next: encodeTrailCursor(page.next, dir),
    prev: encodeTrailCursor(page.prev, dir, true),
    matching,
    size,
    sizes: TRAIL_PAGE_SIZES,
    dir,
    actors,
    // The action filter's choices: the catalogue is server-only (its details are zod schemas).
    actions: AUDIT_ACTION_CODES.map((code) => ({
      code,
      description: describeAction(code).description,
    })),
    canVerify: me.permissions.has('audit:verify'),
  });
}

/**
 * An entry's details as the row shows them: each key with its value as text (codes stay codes, so
 * what is shown is what the search finds), the purpose first when there is one.
 */
function detailsShown(details: Record<string, unknown> | null, purpose: string | null) {
  const shown: { key: string; value: string; title?: string }[] = [];
  if (purpose) shown.push({ key: 'purpose', value: purpose, title: label('reason', purpose) });
  for (const [key, value] of Object.entries(details ?? {})) {
    const text = Array.isArray(value)
      ? value.map((v) => JSON.stringify(v).replace(/^"|"$/g, '')).join(', ')
      : value === null
        ? 'none'
        : typeof value === 'string'
          ? value
          : typeof value === 'number'
            ? formatCount(value)
            : JSON.stringify(value);
    shown.push({
      key,
      value: text.length > 120 ? `${text.slice(0, 119)}…` : text,
      title: key === 'category' ? label('category', text) : undefined,
    });
  }
  return shown;
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number];

const col = columnHelper<Row>();
const columns = col.columns([
  col.accessor('seq', {
    header: 'Entry',
    cell: (info) => (
      <Link to={`/audit/${info.getValue()}`} aria-label={`Entry ${info.getValue()}: details`}>
        #{info.getValue()}
      </Link>
    ),
  }),
  col.accessor('time', {
    id: 'time',
    header: 'Time (UTC)',
    cell: (info) => <Time iso={info.getValue()} seconds zone={false} />,
  }),
  col.accessor('action', {
    header: 'Action',
    cell: (info) => (
      <>
        {info.row.original.description}
        <br />
        <code className="muted">{info.getValue()}</code>
      </>
    ),
  }),
  col.accessor('outcome', {
    header: 'Outcome',
    cell: (info) => (
      <span className={`badge ${info.getValue() === 'allowed' ? 'active' : 'disabled'}`}>
        {label('outcome', info.getValue())}
      </span>
    ),
  }),
  col.accessor('details', {
    header: 'Details',
    cell: (info) =>
      info.getValue().length === 0 ? (
        <span className="muted">—</span>
      ) : (
        <ul className="entry-details">
          {info.getValue().map((d) => (
            <li key={d.key}>
              <span className="muted">{d.key}</span> <code title={d.title}>{d.value}</code>
            </li>
          ))}
        </ul>
      ),
  }),
  col.accessor('actorName', {
    header: 'Actor',
    cell: (info) => {
      const id = info.row.original.actorStaffId;
      const service = info.row.original.actorService;
      if (service) {
        return (
          <span title="A service token: the product, through the service API">
            service <code>{service}</code>
          </span>
        );
      }
      if (!id) {
        const who = unnamedActor(info.row.original.action);
        return (
          <span className="muted" title={who.title} data-testid="actor-unnamed">
            {who.name}
          </span>
        );
      }
      return (
        <Link to={`?actor=${id}`} title={`Show only entries by this staff member (${id})`}>
          {info.getValue() === null ? id.slice(0, 8) : <StaffName name={info.getValue()!} />}
        </Link>
      );
    },
  }),
  col.accessor('userId', {
    header: 'End user',
    cell: (info) => <IdCell id={info.getValue()} param="user" what="user" />,
  }),
  col.accessor('grantId', {
    header: 'Grant',
    cell: (info) => <IdCell id={info.getValue()} param="grant" what="grant" />,
  }),
  col.accessor('privacyRequestId', {
    header: 'Privacy request',
    cell: (info) => <IdCell id={info.getValue()} param="request" what="privacy request" />,
  }),
]);

/** A short id that filters the trail by it, and a button that copies the whole id. */
/** A filter naming one staff member (who acted, or whom an entry is about), or none. */
function StaffSelect(props: {
  name: string;
  label: string;
  anyone: string;
  staff: { id: string; label: string }[];
  value: string;
}) {
  return (
    <div className="field-lg">
      <label htmlFor={props.name}>{props.label}</label>
      <select id={props.name} name={props.name} defaultValue={props.value}>
        <option value="">{props.anyone}</option>
        {props.staff.map((a) => (
          <option key={a.id} value={a.id}>
            {isolatedPlainText(a.label)}
          </option>
        ))}
      </select>
    </div>
  );
}

function IdCell({ id, param, what }: { id: string | null; param: string; what: string }) {
  if (!id) return <ShortId id={id} />;
  return (
    <span className="id-cell">
      <ShortId id={id} filter={{ param, what }} />
      <CopyButton value={id} what={what} />
    </span>
  );
}

export default function AuditTrailRoute() {
  const data = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const value = (name: string) => params.get(name) ?? '';
  const filtered = FILTER_KEYS.some((k) => params.get(k));
  const csv = new URLSearchParams();
  for (const key of [...FILTER_KEYS, 'dir']) if (params.get(key)) csv.set(key, params.get(key)!);
  const { count, capped } = data.matching;
  const noun = count === 1 && !capped ? 'entry' : 'entries';
  const otherDir = new URLSearchParams(params);
  otherDir.delete('after');
  otherDir.set('dir', data.dir === 'desc' ? 'asc' : 'desc');
  return (
    <>
      <div className="page-header">
        <h1>Audit trail</h1>
        <div className="row center">
          {data.canVerify ? (
            <Link className="button secondary" to="/audit/verify">
              Verify the trail
            </Link>
          ) : null}
          <a className="button" href={`/audit/csv${csv.size ? `?${csv.toString()}` : ''}`}>
            Download CSV
          </a>
        </div>
      </div>
      <Form method="get" className="table-tools" role="search" aria-label="Filter the audit trail">
        <div className="field-xl">
          <label htmlFor="q">Search actions and details</label>
          <input
            id="q"
            name="q"
            type="search"
            defaultValue={value('q')}
            placeholder="no_grant, revoke, conversations…"
            maxLength={100}
            autoComplete="off"
            spellCheck={false}
          />
        </div>
        <StaffSelect
          name="actor"
          label="Actor"
          anyone="Anyone"
          staff={data.actors}
          value={value('actor')}
        />
        <StaffSelect
          name="subject"
          label="About staff member"
          anyone="Anyone or no one"
          staff={data.actors}
          value={value('subject')}
        />
        <div className="field-xl">
          <label htmlFor="action">Action</label>
          <select id="action" name="action" defaultValue={value('action')}>
            <option value="">Any action</option>
            {data.actions.map(({ code, description }) => (
              <option key={code} value={code}>
                {description} ({code})
              </option>
            ))}
          </select>
        </div>
        <div className="field-sm">
          <label htmlFor="outcome">Outcome</label>
          <select id="outcome" name="outcome" defaultValue={value('outcome')}>
            <option value="">Any outcome</option>
            {OUTCOME_CHOICES.map((o) => (
              <option key={o} value={o}>
                {label('outcome', o)}
              </option>
            ))}
          </select>
        </div>
        <div className="field-lg">
          <label htmlFor="from">From (UTC)</label>
          <input
            id="from"
            name="from"
            type="datetime-local"
            step={1}
            defaultValue={value('from')}
          />
        </div>
        <div className="field-lg">
          <label htmlFor="to">Before (UTC)</label>
          <input id="to" name="to" type="datetime-local" step={1} defaultValue={value('to')} />
        </div>
        <div className="field-md">
          <label htmlFor="user">End user id</label>
          <input id="user" name="user" type="search" defaultValue={value('user')} />
        </div>
        <div className="field-md">
          <label htmlFor="grant">Grant id</label>
          <input id="grant" name="grant" type="search" defaultValue={value('grant')} />
        </div>
        <div className="field-md">
          <label htmlFor="request">Privacy request id</label>
          <input id="request" name="request" type="search" defaultValue={value('request')} />
        </div>
        <div className="field-sm">
          <label htmlFor="size">Per page</label>
          <select id="size" name="size" defaultValue={String(data.size)}>
            {data.sizes.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <input type="hidden" name="dir" value={data.dir} />
        <button type="submit">Filter</button>
        {filtered ? <Link to="/audit">Clear</Link> : null}
      </Form>
      <p className="muted">
        <strong data-testid="matching">
          {cappedCount(count, capped)} {filtered ? `matching ${noun}` : noun}
        </strong>
        {' · '}
        {data.dir === 'desc' ? 'Newest first. ' : 'Oldest first. '}
        <Link to={`?${otherDir.toString()}`}>
          {data.dir === 'desc' ? 'Show oldest first' : 'Show newest first'}
        </Link>
      </p>
      <DataTable
        caption={filtered ? 'Audit entries matching the filters' : 'All audit entries'}
        columns={columns}
        data={data.rows}
        getRowId={(r) => String(r.seq)}
        sortable={{ time: 'time' }}
        sort="time"
        dir={data.dir}
        next={data.next}
        prev={data.prev}
        empty={
          filtered
            ? 'No audit entry matches these filters.'
            : 'The audit trail is empty: nothing has been recorded yet.'
        }
      />
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
