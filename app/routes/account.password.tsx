import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { PasswordChangeSchema } from '#app/modules/auth/input.server.ts';
import { verifyPassword } from '#app/modules/auth/password.server.ts';
import { changePassword, findStaffForSignIn } from '#app/modules/auth/staff.server.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';

export const access = signedIn({ whilePasswordChangeDue: true });

export const meta: MetaFunction = () => [{ title: 'Change password · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  return json({ due: me.mustChangePassword });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const parsed = parseForm(PasswordChangeSchema, formObject(await args.request.formData()));
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  const account = await findStaffForSignIn(me.email);
  if (!account || !(await verifyPassword(account.passwordHash, parsed.value.current))) {
    return json({ fieldErrors: { current: 'The current password is not right' } }, { status: 400 });
  }
  await changePassword(me, parsed.value.password);
  return redirect('/');
}

export default function PasswordRoute() {
  const { due } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const errors: Record<string, string | undefined> = data?.fieldErrors ?? {};
  return (
    <div className="panel">
      <h1>Change your password</h1>
      {due ? (
        <p className="notice" role="status">
          Your account was created with a temporary password. Choose your own before you go on.
        </p>
      ) : null}
      <Form method="post" className="stack" noValidate>
        <Field
          label="Current password"
          name="current"
          type="password"
          autoComplete="current-password"
          error={errors.current}
        />
        <Field
          label="New password (at least 12 characters)"
          name="password"
          type="password"
          autoComplete="new-password"
          error={errors.password}
        />
        <Field
          label="New password again"
          name="confirm"
          type="password"
          autoComplete="new-password"
          error={errors.confirm}
        />
        <button type="submit">Change password</button>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
