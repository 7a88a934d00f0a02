import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { guard, isSecure, visitor } from '#app/utils/guard.server.ts';
import { alertSuspectedClone } from '#app/modules/access/notifications.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';
import {
  clearedPendingCookie,
  readPendingToken,
  sessionCookie,
} from '#app/modules/auth/session.server.ts';
import { findPendingSignIn } from '#app/modules/auth/factors.server.ts';
import { readFactorForm } from '#app/modules/auth/factor-form.server.ts';
import {
  completeSecondFactor,
  safeRedirect,
  SignInError,
} from '#app/modules/auth/sign-in.server.ts';
import { hasPasskey, passkeyAuthenticationOptions } from '#app/modules/auth/webauthn.server.ts';
import { UsePasskey } from '#app/components/passkey.tsx';
import { formObject } from '#app/utils/forms.server.ts';

// The second step of a sign-in (ADR 035): the password was right (or a single sign-on came without
// the provider's second factor, ADR 039), and a cookie names the pending
// sign-in kept in the database for 5 minutes. Only a right code, or a passkey's answer to the
// challenge kept for this sign-in (ADR 038), opens the session.

export const access = publicAccess;

export const meta: MetaFunction = () => [{ title: 'Second factor · Custodian' }];

/** The methods this page takes. */
const METHODS = ['A code from your authenticator app', 'A recovery code'];
const PASSKEY_METHOD = 'A passkey or security key you enrolled';

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  if (me) throw redirect('/');
  const token = readPendingToken(args.request);
  const pending = token ? await findPendingSignIn(token) : null;
  if (!pending) {
    throw redirect('/login', {
      headers: { 'Set-Cookie': clearedPendingCookie(isSecure(args.context)) },
    });
  }
  const passkeys = await hasPasskey(pending.staffId);
  return json({
    methods: passkeys ? [PASSKEY_METHOD, ...METHODS] : METHODS,
    passkeys,
    // A single sign-on whose provider did not vouch for a second factor (ADR 039) also comes here.
    viaSso: pending.idpIssuer !== null,
  });
}

const NO_FIELD_ERRORS: Partial<Record<string, string>> = {};
const NO_OPTIONS = null as Awaited<ReturnType<typeof passkeyAuthenticationOptions>>;
const NO_STORE = { 'Cache-Control': 'no-store' };

export async function action(args: ActionFunctionArgs) {
  await guard(args, access);
  const token = readPendingToken(args.request);
  const pending = token ? await findPendingSignIn(token) : null;
  if (!pending) {
    return json(
      {
        message: 'This sign-in has expired. Sign in again with your email and password.',
        fieldErrors: NO_FIELD_ERRORS,
        expired: true,
        passkeyOptions: NO_OPTIONS,
      },
      { status: 401, headers: { 'Set-Cookie': clearedPendingCookie(isSecure(args.context)) } },
    );
  }
  const read = await readFactorForm(formObject(await args.request.formData()), () =>
    pending.status === 'active'
      ? passkeyAuthenticationOptions(pending.staffId, {
          purpose: 'sign_in',
          pendingSignInId: pending.id,
        })
      : Promise.resolve(null),
  );
  if (!read.ok) {
    return json(
      {
        message: read.message,
        fieldErrors: read.fieldErrors,
        expired: false,
        passkeyOptions: read.passkeyOptions,
      },
      { status: read.status, headers: read.noStore ? NO_STORE : undefined },
    );
  }
  try {
    const session = await completeSecondFactor(pending, read.proof, visitor(args), {
      suspectedClone: alertSuspectedClone,
    });
    const headers = new Headers();
    headers.append('Set-Cookie', sessionCookie(session, isSecure(args.context)));
    headers.append('Set-Cookie', clearedPendingCookie(isSecure(args.context)));
    return redirect(safeRedirect(pending.redirectTo), { status: 303, headers });
  } catch (error) {
    if (error instanceof SignInError) {
      return json(
        {
          message: error.message,
          fieldErrors: error.fieldErrors,
          expired: false,
          passkeyOptions: NO_OPTIONS,
        },
        { status: error.status },
      );
    }
    throw error;
  }
}

export default function SecondFactorRoute() {
  const { methods, passkeys, viaSso } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const navigation = useNavigation();
  return (
    <div className="login panel">
      <h1>Confirm it is you</h1>
      <p>
        {viaSso
          ? 'Your identity provider signed you in without a second factor.'
          : 'Your password was right.'}{' '}
        Enter one of these to finish signing in:
      </p>
      <ul>
        {methods.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
      <Form method="post" className="stack" noValidate>
        {data?.message ? (
          <p className="form-error" role="alert" id="login-error">
            {data.message}
          </p>
        ) : null}
        <Field
          label="Code"
          name="code"
          type="text"
          inputMode="text"
          autoComplete="one-time-code"
          required
          autoFocus
          error={data?.fieldErrors?.code}
        />
        <button type="submit" disabled={navigation.state === 'submitting'}>
          {navigation.state === 'submitting' ? 'Checking…' : 'Finish signing in'}
        </button>
      </Form>
      {passkeys ? <UsePasskey /> : null}
      <p>
        <Link to="/login">Start again with your email and password</Link>
      </p>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
