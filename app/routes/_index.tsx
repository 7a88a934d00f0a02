import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { guard } from '#app/modules/auth/access.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { recentSignIns, staffCounts } from '#app/modules/auth/home.server.ts';
import type { Permission } from '#app/modules/auth/permissions.ts';

export const access = signedIn();

export const meta: MetaFunction = () => [{ title: 'Home · Custodian' }];

// The work each permission brings, in the order a shift starts. Sections whose feature has not
// shipped yet show their empty state.
const WORK: { permission: Permission; title: string; empty: string }[] = [
  {
    permission: 'grants:approve',
    title: 'Access requests waiting for your decision',
    empty: 'No access request waits for your decision.',
  },
  {
    permission: 'grants:request',
    title: 'Your access grants',
    empty: 'You hold no active grant. Find a user to request one.',
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
  },
  {
    permission: 'audit:verify',
    title: 'Audit trail verification',
    empty: 'No verification has run yet.',
  },
  {
    permission: 'analytics:read',
    title: 'Usage analytics',
    empty: 'No analytics release has been published yet.',
  },
];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const [signIns, counts] = await Promise.all([
    recentSignIns(me.staffId),
    me.permissions.has('staff:manage') ? staffCounts() : Promise.resolve(null),
  ]);
  return json({
    work: WORK.filter((w) => me.permissions.has(w.permission)).map(({ title, empty }) => ({
      title,
      empty,
    })),
    signIns: signIns.map((s) => ({ ...s, occurredAt: s.occurredAt.toISOString() })),
    counts,
    displayName: me.displayName,
  });
}

export default function HomeRoute() {
  const { work, signIns, counts, displayName } = useLoaderData<typeof loader>();
  return (
    <>
      <h1>Welcome, {displayName}</h1>
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
            <p className="empty">{w.empty}</p>
          </section>
        ))}
      </div>
      <section className="panel" aria-labelledby="recent-sign-ins">
        <h2 id="recent-sign-ins">Your recent sign-ins</h2>
        {signIns.length === 0 ? (
          <p className="empty">No sign-in recorded yet.</p>
        ) : (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Event</th>
                <th scope="col">Outcome</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {signIns.map((s) => (
                <tr key={`${s.occurredAt}-${s.action}-${s.outcome}`}>
                  <td>{s.occurredAt.replace('T', ' ').slice(0, 19)}</td>
                  <td>{s.action === 'auth.lock' ? 'Locked' : 'Sign-in'}</td>
                  <td>{s.outcome}</td>
                  <td>{s.clientAddress ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
