import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import {
  Form,
  Link,
  useActionData,
  useLoaderData,
  useNavigation,
  useSearchParams,
} from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { alertSuspectedClone } from '#app/modules/access/notifications.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { readFactorForm } from '#app/modules/auth/factor-form.server.ts';
import { safeRedirect, SignInError, stepUp } from '#app/modules/auth/sign-in.server.ts';
import { hasPasskey, passkeyAuthenticationOptions } from '#app/modules/auth/webauthn.server.ts';
import { UsePasskey } from '#app/components/passkey.tsx';
import { formObject } from '#app/utils/forms.server.ts';

// Step-up (ADR 035): the riskiest actions ask for the second factor again when the session's last
// one is older than CUSTODIAN_STEP_UP_SECONDS; this page takes it and sends the staff member back.

export const access = signedIn();

export const meta: MetaFunction = () => [{ title: 'Confirm your second factor · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  return json({ passkeys: await hasPasskey(me.staffId) });
}

const NO_OPTIONS = null as Awaited<ReturnType<typeof passkeyAuthenticationOptions>>;

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const read = await readFactorForm(formObject(await args.request.formData()), () =>
    me.sessionId
      ? passkeyAuthenticationOptions(me.staffId, { purpose: 'step_up', sessionId: me.sessionId })
      : Promise.resolve(null),
  );
  if (!read.ok) {
    return json(
      { message: read.message, fieldErrors: read.fieldErrors, passkeyOptions: read.passkeyOptions },
      { status: read.status, headers: read.noStore ? { 'Cache-Control': 'no-store' } : undefined },
    );
  }
  try {
    await stepUp(me, read.proof, { suspectedClone: alertSuspectedClone });
  } catch (error) {
    if (error instanceof SignInError) {
      return json(
        { message: error.message, fieldErrors: error.fieldErrors, passkeyOptions: NO_OPTIONS },
        { status: error.status },
      );
    }
    throw error;
  }
  return redirect(safeRedirect(read.redirectTo), { status: 303 });
}

export default function VerifyRoute() {
  const { passkeys } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  return (
    <div className="login panel">
      <h1>Confirm your second factor</h1>
      <p>
        The action you asked for needs a second factor proved in the last few minutes. Enter the
        code your authenticator app shows now, or a recovery code
        {passkeys ? ', or use a passkey' : ''}.
      </p>
      <Form method="post" className="stack" noValidate>
        {data?.message ? (
          <p className="form-error" role="alert">
            {data.message}
          </p>
        ) : null}
        <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? '/'} />
        <Field
          label="Code"
          name="code"
          autoComplete="one-time-code"
          required
          autoFocus
          error={data?.fieldErrors?.code}
        />
        <button type="submit" disabled={navigation.state === 'submitting'}>
          Confirm
        </button>
      </Form>
      {passkeys ? <UsePasskey redirectTo={params.get('redirectTo') ?? '/'} /> : null}
      <p>
        <Link to="/account/security">Your sign-in security</Link>
      </p>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
