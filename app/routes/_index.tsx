import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { isolatedPlainText, StaffName } from '#app/components/isolated-text.tsx';
import type { StaffActor } from '#app/modules/actor.ts';
import { guard } from '#app/utils/guard.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { listGrants } from '#app/modules/access/list.server.ts';
import { latestVerificationRun } from '#app/modules/audit/runs.server.ts';
import { recentSignIns } from '#app/modules/audit/sign-ins.server.ts';
import { staffCounts } from '#app/modules/auth/home.server.ts';
import type { Permission } from '#app/modules/auth/permissions.ts';
import { utc, utcText } from '#app/components/time.tsx';

export const access = signedIn();

export const meta: MetaFunction = () => [{ title: 'Home · Custodian' }];

// The work each permission brings, in the order a shift starts. Sections whose feature has not
// shipped yet show their empty state.
type WorkKey = 'to_decide' | 'my_grants' | 'break_glass' | 'verification';
const WORK: {
  permission: Permission;
  title: string;
  empty: string;
  key?: WorkKey;
  more?: string;
}[] = [
  {
    key: 'to_decide',
    more: '/grants?view=to_decide',
    permission: 'grants:approve',
    title: 'Access requests waiting for your decision',
    empty: 'No access request waits for your decision.',
  },
  {
    permission: 'grants:request',
    title: 'Your access grants',
    empty: 'You hold no active grant. Find a user to request one.',
    key: 'my_grants',
    more: '/grants?view=mine',
  },
  {
    permission: 'privacy:process',
    title: 'Privacy requests due',
    empty: 'The privacy-request queue is empty.',
  },
  {
    permission: 'security:review',
    title: 'Break-glass uses to review',
    empty: 'No break-glass use waits for review.',
    key: 'break_glass',
    more: '/security/access',
  },
  {
    permission: 'audit:verify',
    title: 'Audit trail verification',
    empty: 'No verification has run yet.',
    key: 'verification',
    more: '/audit/verify',
  },
  {
    permission: 'analytics:read',
    title: 'Usage analytics',
    empty: 'No analytics release has been published yet.',
  },
];

interface WorkLine {
  href: string;
  text: string;
}

const short = (id: string) => id.slice(0, 8);

async function workLines(key: WorkKey | undefined, staff: StaffActor): Promise<WorkLine[]> {
  const staffId = staff.staffId;
  switch (key) {
    case 'to_decide':
      return (await listGrants({ view: 'to_decide', staff, limit: 5 })).rows.map((g) => ({
        href: `/grants/${g.id}`,
        text: `${isolatedPlainText(g.requesterName)} asks for ${g.categories.join(', ')} of user ${short(g.userId)}`,
      }));
    case 'my_grants':
      return (
        await listGrants({ view: 'active', staff, filters: { requesterId: staffId }, limit: 5 })
      ).rows.map((g) => ({
        href: `/users/${g.userId}`,
        text: `User ${short(g.userId)}: ${g.categories.join(', ')} until ${utc(g.endsAt)}`,
      }));
    case 'break_glass':
      return (
        await listGrants({
          view: 'history',
          staff,
          filters: { breakGlass: true, unreviewed: true },
          limit: 5,
        })
      ).rows.map((g) => ({
        href: `/grants/${g.id}`,
        text: `${isolatedPlainText(g.requesterName)} broke glass on user ${short(g.userId)}`,
      }));
    case 'verification': {
      const run = await latestVerificationRun();
      if (!run) return [];
      const state = !run.finishedAt
        ? 'in progress'
        : run.ok
          ? `intact, ${run.total} entries`
          : `problems from entry ${run.firstBadSeq ?? '?'}`;
      return [{ href: '/audit/verify', text: `Last run ${utc(run.startedAt)}: ${state}` }];
    }
    default:
      return [];
  }
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const mine = WORK.filter((w) => me.permissions.has(w.permission));
  const [signIns, counts, lines] = await Promise.all([
    recentSignIns(me.staffId),
    me.permissions.has('staff:manage') ? staffCounts() : Promise.resolve(null),
    Promise.all(mine.map((w) => workLines(w.key, me))),
  ]);
  return json({
    work: mine.map(({ title, empty, more }, i) => ({ title, empty, more, lines: lines[i]! })),
    signIns: signIns.map((s) => ({ ...s, occurredAt: s.occurredAt.toISOString() })),
    counts,
    displayName: me.displayName,
  });
}

type SignInRow = ReturnType<typeof useLoaderData<typeof loader>>['signIns'][number];
const signInCol = columnHelper<SignInRow>();
const signInColumns = signInCol.columns([
  signInCol.accessor('occurredAt', {
    header: 'When (UTC)',
    cell: (info) => utcText(info.getValue(), 'second'),
  }),
  signInCol.accessor('action', {
    header: 'Event',
    cell: (info) => (info.getValue() === 'auth.lock' ? 'Locked' : 'Sign-in'),
  }),
  signInCol.accessor('outcome', { header: 'Outcome' }),
  signInCol.accessor('clientAddress', { header: 'From', cell: (info) => info.getValue() ?? '—' }),
]);

export default function HomeRoute() {
  const { work, signIns, counts, displayName } = useLoaderData<typeof loader>();
  return (
    <>
      <h1>
        Welcome, <StaffName name={displayName} />
      </h1>
      <div className="cards">
        {counts ? (
          <section className="panel" aria-labelledby="staff-accounts">
            <h2 id="staff-accounts">Staff accounts</h2>
            <p>
              {counts.active} active, {counts.disabled} disabled, {counts.mustChange} awaiting a
              first password change.
            </p>
            <Link to="/admin/staff">Manage staff</Link>
          </section>
        ) : null}
        {work.map((w) => (
          <section className="panel" key={w.title} aria-label={w.title}>
            <h2>{w.title}</h2>
            {w.lines.length === 0 ? (
              <p className="empty">{w.empty}</p>
            ) : (
              <ul>
                {w.lines.map((line) => (
                  <li key={line.href + line.text}>
                    <Link to={line.href}>{line.text}</Link>
                  </li>
                ))}
              </ul>
            )}
            {w.more ? (
              <Link to={w.more} aria-label={`Open: ${w.title}`}>
                Open
              </Link>
            ) : null}
          </section>
        ))}
      </div>
      <section className="panel" aria-labelledby="recent-sign-ins">
        <h2 id="recent-sign-ins">Your recent sign-ins</h2>
        <DataTable
          caption="Your recent sign-ins"
          captionHidden
          columns={signInColumns}
          data={signIns}
          getRowId={(s) => `${s.occurredAt}-${s.action}-${s.outcome}`}
          empty="No sign-in recorded yet."
          paged={false}
        />
      </section>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
