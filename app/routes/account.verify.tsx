import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useNavigation, useSearchParams } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { SecondFactorSchema } from '#app/modules/auth/input.server.ts';
import { safeRedirect, SignInError, stepUp } from '#app/modules/auth/sign-in.server.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';

// Step-up (ADR 035): the riskiest actions ask for the second factor again when the session's last
// one is older than CUSTODIAN_STEP_UP_SECONDS; this page takes it and sends the staff member back.

export const access = signedIn();

export const meta: MetaFunction = () => [{ title: 'Confirm your second factor · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  return json({});
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const parsed = parseForm(SecondFactorSchema, formObject(await args.request.formData()));
  if (!parsed.ok) {
    return json(
      { message: 'Check the highlighted field.', fieldErrors: parsed.fieldErrors },
      { status: 400 },
    );
  }
  try {
    await stepUp(me, parsed.value.code);
  } catch (error) {
    if (error instanceof SignInError) {
      return json(
        { message: error.message, fieldErrors: error.fieldErrors },
        { status: error.status },
      );
    }
    throw error;
  }
  return redirect(safeRedirect(parsed.value.redirectTo), { status: 303 });
}

export default function VerifyRoute() {
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  return (
    <div className="login panel">
      <h1>Confirm your second factor</h1>
      <p>
        The action you asked for needs a second factor proved in the last few minutes. Enter the
        code your authenticator app shows now, or a recovery code.
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
      <p>
        <Link to="/account/security">Your sign-in security</Link>
      </p>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
