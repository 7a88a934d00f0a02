import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { guard, isSecure, visitor } from '#app/utils/guard.server.ts';
import { invariantResponse } from '#app/utils/http.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';
import { ssoConfigured } from '#app/modules/sso/provider.server.ts';
import { pendingCookie, sessionCookie } from '#app/modules/auth/session.server.ts';
import { safeRedirect } from '#app/modules/auth/sign-in.server.ts';
import { clearedSsoCookie, readSsoToken } from '#app/modules/sso/flows.server.ts';
import { completeSso, SsoError } from '#app/modules/sso/sign-in.server.ts';

// GET /auth/oidc/callback: the identity provider sends the browser back here (ADR 039). A
// session, the second-factor step, or a page saying plainly why not (recorded in the trail).

export const access = publicAccess;

export const meta: MetaFunction = () => [{ title: 'Single sign-on · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  invariantResponse(ssoConfigured(), 'Single sign-on is not configured on this console.', {
    status: 404,
  });
  const secure = isSecure(args.context);
  const headers = new Headers({ 'Set-Cookie': clearedSsoCookie(secure) });
  try {
    const outcome = await completeSso(args.request, readSsoToken(args.request), visitor(args));
    if (outcome.kind === 'second-factor') {
      headers.append('Set-Cookie', pendingCookie(outcome.pendingToken, secure));
      return redirect('/login/second-factor', { status: 303, headers });
    }
    headers.append('Set-Cookie', sessionCookie(outcome.token, secure));
    return redirect(safeRedirect(outcome.redirectTo), { status: 303, headers });
  } catch (error) {
    if (error instanceof SsoError) {
      return json({ message: error.message }, { status: error.status, headers });
    }
    throw error;
  }
}

export default function SsoCallbackRoute() {
  const data = useLoaderData<typeof loader>();
  return (
    <div className="login panel">
      <h1>Single sign-on did not sign you in</h1>
      <p className="form-error" role="alert" id="login-error">
        {data.message}
      </p>
      <p>
        <Link to="/login">Back to sign-in</Link>
      </p>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
