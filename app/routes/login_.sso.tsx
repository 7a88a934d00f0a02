import type { LoaderFunctionArgs } from '@remix-run/node';
import { redirect } from '@remix-run/node';
import { guard, isSecure } from '#app/utils/guard.server.ts';
import { invariantResponse } from '#app/utils/http.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';
import { safeRedirect } from '#app/modules/auth/sign-in.server.ts';
import { providerSettings } from '#app/modules/sso/provider.server.ts';
import { ssoCookie, startFlow } from '#app/modules/sso/flows.server.ts';

// GET /login/sso: starts a single sign-on (ADR 039) — the authorization code flow with PKCE,
// state and nonce kept server-side — and sends the browser to the identity provider.

export const access = publicAccess;

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const redirectTo = safeRedirect(new URL(args.request.url).searchParams.get('redirectTo'));
  if (me) throw redirect(redirectTo);
  const settings = providerSettings();
  invariantResponse(settings, 'Single sign-on is not configured on this console.', {
    status: 404,
  });
  let started;
  try {
    started = await startFlow(settings, redirectTo);
  } catch {
    throw new Response(
      'The identity provider cannot be reached right now. Try again in a moment.',
      {
        status: 503,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      },
    );
  }
  return redirect(started.url, {
    headers: { 'Set-Cookie': ssoCookie(started.token, isSecure(args.context)) },
  });
}
