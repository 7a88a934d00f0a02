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
  useRouteLoaderData,
} from '@remix-run/react';
import type { ReactNode } from 'react';
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
