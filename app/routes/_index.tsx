import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { isolatedPlainText, StaffName } from '#app/components/isolated-text.tsx';
import type { StaffActor } from '#app/modules/actor.ts';
import { guard } from '#app/utils/guard.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { COUNT_CAP, countGrants, listGrants } from '#app/modules/access/list.server.ts';
import { releaseSummary } from '#app/modules/analytics/summary.server.ts';
import { latestVerificationRun } from '#app/modules/audit/runs.server.ts';
import { recentSignIns } from '#app/modules/audit/sign-ins.server.ts';
import { staffCounts } from '#app/modules/auth/home.server.ts';
import type { Permission } from '#app/modules/auth/permissions.ts';
import { listRequests, privacyWorklist } from '#app/modules/privacy/requests.server.ts';
import { TYPE_LABELS } from '#app/modules/privacy/vocabulary.ts';
import { cappedCount, countOf } from '#app/modules/labels.ts';
import { utc, utcText } from '#app/components/time.tsx';

export const access = signedIn();

export const meta: MetaFunction = () => [{ title: 'Home · Custodian' }];

// The work each permission brings, in the order a shift starts: each card a true count, the
// first items, and a link to the filtered list behind it. Only capabilities that exist have one.
type WorkKey = 'to_decide' | 'my_grants' | 'privacy' | 'break_glass' | 'verification' | 'analytics';
const WORK: {
  key: WorkKey;
  /** Any one of them brings the card. */
  permissions: Permission[];
  title: string;
  empty: string;
  more: string;
}[] = [
  {
    key: 'to_decide',
    permissions: ['grants:approve', 'grants:approve_sensitive'],
    title: 'Access requests waiting for your decision',
    empty: 'No access request waits for your decision.',
    more: '/grants?view=to_decide',
  },
  {
    key: 'my_grants',
    permissions: ['grants:request'],
    title: 'Your active access grants',
    empty: 'You hold no active grant. Find a user to request one.',
    more: '/grants?view=mine',
  },
  {
    key: 'privacy',
    permissions: ['privacy:process'],
    title: 'Privacy requests assigned to you',
    empty: 'No open privacy request is assigned to you.',
    more: '/privacy?assignee=me',
  },
  {
    key: 'break_glass',
    permissions: ['security:review'],
    title: 'Break-glass uses to review',
    empty: 'No break-glass use waits for review.',
    more: '/security/access',
  },
  {
    key: 'verification',
    permissions: ['audit:verify'],
    title: 'Audit trail verification',
    empty: 'No verification has run yet.',
    more: '/audit/verify',
  },
  {
    key: 'analytics',
    permissions: ['analytics:read'],
    title: 'Usage analytics',
    empty: 'No analytics release has been published yet.',
    more: '/analytics',
  },
];

interface WorkLine {
  href: string;
  text: string;
}

interface Work {
  /** The true count behind the card (capped at COUNT_CAP), or null where a count means nothing. */
  count: number | null;
  lines: WorkLine[];
}

const short = (id: string) => id.slice(0, 8);

async function workOf(key: WorkKey, staff: StaffActor): Promise<Work> {
  const staffId = staff.staffId;
  switch (key) {
    case 'to_decide': {
      const [count, page] = await Promise.all([
        countGrants({ view: 'to_decide', staff }),
        listGrants({ view: 'to_decide', staff, limit: 5 }),
      ]);
      return {
        count,
        lines: page.rows.map((g) => ({
          href: `/grants/${g.id}`,
          text: `${isolatedPlainText(g.requesterName)} asks for ${g.categories.join(', ')} of user ${short(g.userId)}`,
        })),
      };
    }
    case 'my_grants': {
      const filters = { requesterId: staffId };
      const [count, page] = await Promise.all([
        countGrants({ view: 'active', staff, filters }),
        listGrants({ view: 'active', staff, filters, limit: 5 }),
      ]);
      return {
        count,
        lines: page.rows.map((g) => ({
          href: `/users/${g.userId}`,
          text: `User ${short(g.userId)}: ${g.categories.join(', ')} until ${utc(g.endsAt)}`,
        })),
      };
    }
    case 'privacy': {
      const [counts, page] = await Promise.all([
        privacyWorklist(staff),
        listRequests({ assignee: 'me' }, staff, 5),
      ]);
      const others: WorkLine[] = [
        counts.toApprove
          ? {
              href: '/privacy?state=awaiting_approval',
              text: `${countOf(counts.toApprove, 'proposal waits', 'proposals wait')} for a second officer’s approval`,
            }
          : null,
        counts.unassigned
          ? {
              href: '/privacy?assignee=none',
              text: `${countOf(counts.unassigned, 'open request is', 'open requests are')} unassigned`,
            }
          : null,
        counts.overdue
          ? {
              href: '/privacy?due=overdue',
              text: `${countOf(counts.overdue, 'open request is', 'open requests are')} overdue`,
            }
          : null,
      ].filter((line): line is WorkLine => line !== null);
      return {
        count: counts.assignedToMe,
        lines: [
          ...page.rows.map((r) => ({
            href: `/privacy/${r.id}`,
            text: `${TYPE_LABELS[r.type]} of user ${short(r.userId)}, due ${r.dueDay}`,
          })),
          ...others,
        ],
      };
    }
    case 'break_glass': {
      const filters = { breakGlass: true, unreviewed: true };
      const [count, page] = await Promise.all([
        countGrants({ view: 'history', staff, filters }),
        listGrants({ view: 'history', staff, filters, limit: 5 }),
      ]);
      return {
        count,
        lines: page.rows.map((g) => ({
          href: `/grants/${g.id}`,
          text: `${isolatedPlainText(g.requesterName)} broke glass on user ${short(g.userId)}`,
        })),
      };
    }
    case 'verification': {
      const run = await latestVerificationRun();
      if (!run) return { count: null, lines: [] };
      const state = !run.finishedAt
        ? 'in progress'
        : run.ok
          ? `intact, ${countOf(run.total, 'entry', 'entries')}`
          : `problems from entry ${run.firstBadSeq ?? '?'}`;
      return {
        count: null,
        lines: [{ href: '/audit/verify', text: `Last run ${utc(run.startedAt)}: ${state}` }],
      };
    }
    case 'analytics': {
      const summary = await releaseSummary();
      if (!summary.releases) return { count: null, lines: [] };
      return {
        count: null,
        lines: [
          {
            href: '/analytics',
            text: `${countOf(summary.releases, 'release', 'releases')} published; figures up to ${summary.latestDay ?? '—'}`,
          },
        ],
      };
    }
  }
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const mine = WORK.filter((w) => w.permissions.some((p) => me.permissions.has(p)));
  const [signIns, counts, works] = await Promise.all([
    recentSignIns(me.staffId),
    me.permissions.has('staff:manage') ? staffCounts() : Promise.resolve(null),
    Promise.all(mine.map((w) => workOf(w.key, me))),
  ]);
  return json({
    work: mine.map(({ key, title, empty, more }, i) => ({
      key,
      title,
      empty,
      more,
      count: works[i]!.count,
      capped: works[i]!.count === COUNT_CAP,
      lines: works[i]!.lines,
    })),
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
          <section className="panel" key={w.key} aria-label={w.title} data-card={w.key}>
            <h2>
              {w.title}
              {w.count === null ? null : (
                <span className="badge count" aria-label={`${w.count} in all`}>
                  {cappedCount(w.count, w.capped)}
                </span>
              )}
            </h2>
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
            <Link to={w.more}>
              Open the list<span className="visually-hidden">: {w.title}</span>
            </Link>
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
