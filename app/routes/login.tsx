import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import {
  Form,
  useActionData,
  useLoaderData,
  useNavigation,
  useSearchParams,
} from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { guard, isSecure, visitor } from '#app/utils/guard.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';
import { pendingCookie, sessionCookie } from '#app/modules/auth/session.server.ts';
import { createPendingSignIn } from '#app/modules/auth/factors.server.ts';
import { passwordSignInEnabled } from '#app/config.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import {
  authenticateStaff,
  safeRedirect,
  SignInError,
  startSession,
} from '#app/modules/auth/sign-in.server.ts';
import { ssoConfigured } from '#app/modules/sso/provider.server.ts';

export const access = publicAccess;

export const meta: MetaFunction = () => [{ title: 'Sign in · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  if (me) throw redirect(safeRedirect(new URL(args.request.url).searchParams.get('redirectTo')));
  return json({ sso: ssoConfigured(), passwordSignIn: passwordSignInEnabled() });
}

const NONE: SignInError['fieldErrors'] = {};
const PASSWORD_OFF =
  'Password sign-in is turned off for this console: sign in with single sign-on (your company account).';

export async function action(args: ActionFunctionArgs) {
  await guard(args, access);
  // CUSTODIAN_PASSWORD_SIGN_IN=off (ADR 038): no password is even checked.
  if (!passwordSignInEnabled()) {
    await recordAudit(visitor(args), {
      action: 'auth.sign_in',
      outcome: 'denied',
      details: { reason: 'password_sign_in_off' },
    });
    return json({ message: PASSWORD_OFF, fieldErrors: NONE }, { status: 403 });
  }
  const redirectTo = safeRedirect((await args.request.clone().formData()).get('redirectTo'));
  const who = visitor(args);
  try {
    const staff = await authenticateStaff(args.request, who);
    if (staff.hasFactor) {
      // The password was right; the session waits for the second factor (ADR 035).
      const pending = await createPendingSignIn(staff.staffId, redirectTo);
      return redirect('/login/second-factor', {
        status: 303,
        headers: { 'Set-Cookie': pendingCookie(pending, isSecure(args.context)) },
      });
    }
    const token = await startSession(staff, who);
    return redirect(redirectTo, {
      headers: { 'Set-Cookie': sessionCookie(token, isSecure(args.context)) },
    });
  } catch (error) {
    if (error instanceof SignInError) {
      return json(
        { message: error.message, fieldErrors: error.fieldErrors },
        { status: error.status },
      );
    }
    throw error;
  }
}

export default function LoginRoute() {
  const { passwordSignIn, sso } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  return (
    <div className="login panel">
      <h1>Sign in to Custodian</h1>
      {passwordSignIn ? null : (
        <p className="notice" role="status" data-testid="password-sign-in-off">
          Password sign-in is turned off for this console. Sign in with single sign-on, your company
          account.
        </p>
      )}
      {passwordSignIn ? (
        <Form method="post" className="stack" noValidate>
          {data?.message ? (
            <p className="form-error" role="alert" id="login-error">
              {data.message}
            </p>
          ) : null}
          <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? '/'} />
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="username"
            required
            autoFocus
            error={data?.fieldErrors?.email}
          />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            error={data?.fieldErrors?.password}
          />
          <button type="submit" disabled={navigation.state === 'submitting'}>
            {navigation.state === 'submitting' ? 'Signing in…' : 'Sign in'}
          </button>
        </Form>
      ) : null}
      {sso ? (
        <p className="sso">
          {/* A document navigation: the answer is a redirect to the identity provider. */}
          <a
            href={`/login/sso?redirectTo=${encodeURIComponent(params.get('redirectTo') ?? '/')}`}
            className="button secondary"
          >
            Sign in with single sign-on
          </a>
        </p>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
