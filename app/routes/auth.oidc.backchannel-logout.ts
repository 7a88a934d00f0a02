import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';
import { json } from '@remix-run/node';
import { guard, visitor } from '#app/utils/guard.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';
import { BackchannelLogoutSchema } from '#app/modules/sso/input.server.ts';
import { backchannelLogout } from '#app/modules/sso/logout.server.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';

// POST /auth/oidc/backchannel-logout (OpenID Connect Back-Channel Logout 1.0, ADR 039): the
// identity provider, server to server, with a signed logout token. 200 when the token is valid
// (whether or not a session matched), 400 with an OAuth error otherwise; never cached.

export const access = publicAccess;

const NO_STORE = { 'Cache-Control': 'no-store' };

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  return json(
    { error: 'invalid_request', error_description: 'POST a logout_token' },
    { status: 405, headers: { ...NO_STORE, Allow: 'POST' } },
  );
}

export async function action(args: ActionFunctionArgs) {
  await guard(args, access);
  const type = args.request.headers.get('content-type') ?? '';
  let fields: Record<string, unknown> = {};
  if (type.startsWith('application/x-www-form-urlencoded')) {
    fields = formObject(await args.request.formData());
  }
  const parsed = parseForm(BackchannelLogoutSchema, fields);
  if (!parsed.ok) {
    return json(
      {
        error: 'invalid_request',
        error_description: Object.values(parsed.fieldErrors)[0] ?? 'Invalid request',
        field: 'logout_token',
      },
      { status: 400, headers: NO_STORE },
    );
  }
  const result = await backchannelLogout(parsed.value.logout_token, visitor(args));
  if (!result.ok) {
    return json(
      {
        error: 'invalid_request',
        error_description: `Invalid logout_token (${result.reason})`,
        field: 'logout_token',
      },
      { status: 400, headers: NO_STORE },
    );
  }
  return new Response(null, { status: 200, headers: NO_STORE });
}
