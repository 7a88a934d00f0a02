import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import {
  Form,
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
import { visibleNav } from './components/navigation.ts';
import { guard } from './modules/auth/access.server.ts';
import { publicAccess } from './modules/auth/access.ts';
import { ROLE_NAMES } from './modules/auth/permissions.ts';
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
  return json({
    me: me && {
      displayName: me.displayName,
      roles: me.roles,
      permissions: [...me.permissions],
      mustChangePassword: me.mustChangePassword,
    },
  });
}

export function useOptionalMe() {
  return useRouteLoaderData<typeof loader>('root')?.me ?? null;
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
              <span className="whoami-name" data-testid="staff-name">
                {me.displayName}
              </span>
              <span className="whoami-role" data-testid="staff-roles">
                {me.roles.map((r) => ROLE_NAMES[r] ?? r).join(', ') || 'No role'}
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
