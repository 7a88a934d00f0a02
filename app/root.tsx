import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import {
  Form,
  Link,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useMatches,
  useRevalidator,
  useRouteLoaderData,
} from '@remix-run/react';
import { useEffect, useRef, type ReactNode } from 'react';
import { GeneralErrorBoundary } from './components/error-boundary.tsx';
import { StaffName } from './components/isolated-text.tsx';
import { visibleNav } from './components/navigation.ts';
import { layoutStateOf } from './modules/access/live.server.ts';
import { guard } from './utils/guard.server.ts';
import { publicAccess } from './modules/auth/access.ts';
import { breakGlassBannerOf, roleNamesOf } from './layout.server.ts';
import stylesHref from './styles.css';
import { useNonce } from './utils/nonce.tsx';

export const access = publicAccess;

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesHref },
  { rel: 'icon', href: '/favicon.ico' },
];

export const meta: MetaFunction = () => [{ title: 'Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  // Asked at every request, like the grant check itself: the banner lasts exactly as long as the
  // break-glass grant does.
  const { breakGlass, unread } =
    me && !me.mustChangePassword ? await layoutStateOf(me.staffId) : { breakGlass: [], unread: 0 };
  return json({
    me: me && {
      displayName: me.displayName,
      roleNames: roleNamesOf(me.roles),
      permissions: [...me.permissions],
      mustChangePassword: me.mustChangePassword,
    },
    breakGlass: breakGlassBannerOf(breakGlass),
    unread,
  });
}

export function useOptionalMe() {
  return useRouteLoaderData<typeof loader>('root')?.me ?? null;
}

function BreakGlassBanner() {
  const live = useRouteLoaderData<typeof loader>('root')?.breakGlass ?? [];
  if (live.length === 0) return null;
  return (
    <div className="break-glass-banner" role="alert" data-testid="break-glass-banner">
      <strong>Break-glass access is active.</strong>{' '}
      {live.map((g, i) => (
        <span key={g.grantId}>
          {i ? '; ' : ''}
          You can see {g.categories} of user <code title={g.userId}>{g.userId.slice(0, 8)}</code>{' '}
          until {g.until} (<Link to={`/grants/${g.grantId}`}>see the grant</Link>)
        </span>
      ))}
      . Security reviewers have been alerted, every view is recorded, and this use will be reviewed.
    </div>
  );
}

function NotificationsLink({ unread }: { unread: number }) {
  return (
    <NavLink
      to="/notifications"
      className="notifications-link"
      data-testid="notifications-link"
      data-unread={unread}
    >
      Notifications
      {unread ? (
        <>
          {' '}
          <span className="unread-count" data-testid="unread-count-badge">
            {unread > 99 ? '99+' : unread}
          </span>
          <span className="visually-hidden"> unread</span>
        </>
      ) : null}
    </NavLink>
  );
}

/** How often a visible page asks whether something changed for its reader. */
const POLL_MS = 4_000;
/** After this long without a key or a click the polling stops, so it never keeps an idle session alive. */
const QUIET_MS = 10 * 60_000;

/**
 * A requester learns of a decision without reloading (issue 13): while the tab is visible, ask
 * /notifications/live every few seconds (with the open grant's id on a grant page) and reload the
 * page's data when the answer changes. Paused while the tab is hidden or the reader is idle.
 */
function useLiveUpdates(enabled: boolean, unread: number) {
  const revalidator = useRevalidator();
  const reload = useRef(revalidator);
  reload.current = revalidator;
  const loaded = useRef(unread);
  loaded.current = unread;
  const grantId = useMatches().find((m) => m.id === 'routes/grants.$grantId')?.params.grantId;
  useEffect(() => {
    if (!enabled) return;
    const url = `/notifications/live${grantId ? `?grant=${encodeURIComponent(grantId)}` : ''}`;
    let baseline: string | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let lastInput = Date.now();
    const schedule = (ms: number) => {
      clearTimeout(timer);
      if (!stopped) timer = setTimeout(() => void tick(), ms);
    };
    async function tick() {
      if (document.visibilityState !== 'visible' || Date.now() - lastInput > QUIET_MS) return;
      let wait = POLL_MS;
      try {
        const response = await fetch(url, {
          headers: { accept: 'application/json' },
          redirect: 'error',
          cache: 'no-store',
        });
        if (response.ok) {
          const body = (await response.json()) as {
            unread: number;
            latest: string | null;
            grant: string | null;
          };
          const key = JSON.stringify([body.unread, body.latest, body.grant]);
          const changed = baseline === null ? body.unread !== loaded.current : key !== baseline;
          baseline = key;
          if (changed && reload.current.state === 'idle') reload.current.revalidate();
        } else {
          wait = POLL_MS * 8;
        }
      } catch {
        // Signed out, or the server is away: ask again later, less often.
        wait = POLL_MS * 8;
      }
      schedule(wait);
    }
    const wake = () => {
      const idle = Date.now() - lastInput > QUIET_MS;
      lastInput = Date.now();
      if (idle) schedule(0);
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') schedule(0);
      else clearTimeout(timer);
    };
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('keydown', wake);
    window.addEventListener('pointerdown', wake);
    schedule(0);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('keydown', wake);
      window.removeEventListener('pointerdown', wake);
    };
  }, [enabled, grantId]);
}

function Shell({ children }: { children: ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

function Layout({ children }: { children: ReactNode }) {
  const me = useOptionalMe();
  const unread = useRouteLoaderData<typeof loader>('root')?.unread ?? 0;
  useLiveUpdates(Boolean(me && !me.mustChangePassword), unread);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Custodian</span>
        {me ? (
          <>
            <nav aria-label="Main">
              <ul>
                {visibleNav(me.mustChangePassword ? [] : me.permissions).map((item) => (
                  <li key={item.to}>
                    <NavLink to={item.to} end={item.to === '/'}>
                      {item.label}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </nav>
            <div className="whoami">
              {me.mustChangePassword ? null : <NotificationsLink unread={unread} />}
              <span className="whoami-name" data-testid="staff-name">
                <StaffName name={me.displayName} />
              </span>
              <span className="whoami-role" data-testid="staff-roles">
                {me.roleNames.join(', ') || 'No role'}
              </span>
              <Link to="/account/security" className="whoami-link">
                Sign-in security
              </Link>
              <Form method="post" action="/logout">
                <button type="submit" className="link-button">
                  Sign out
                </button>
              </Form>
            </div>
          </>
        ) : null}
      </header>
      {me ? <BreakGlassBanner /> : null}
      <main id="main">{children}</main>
    </>
  );
}

export default function App() {
  return (
    <Shell>
      <Layout>
        <Outlet />
      </Layout>
    </Shell>
  );
}

export function ErrorBoundary() {
  return (
    <Shell>
      <main id="main">
        <GeneralErrorBoundary />
      </main>
    </Shell>
  );
}
