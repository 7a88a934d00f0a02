import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { NewStaffSchema } from '#app/modules/auth/input.server.ts';
import { ROLE_NAMES, ROLES } from '#app/modules/auth/permissions.ts';
import { StaffError } from '#app/modules/auth/staff.server.ts';
import { addStaff } from '#app/modules/access/role-requests.server.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';

export const access = requires('staff:manage');

export const meta: MetaFunction = () => [{ title: 'Add staff member · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  return json({});
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const parsed = parseForm(NewStaffSchema, formObject(await args.request.formData(), ['roles']));
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  try {
    const { id, pending } = await addStaff({ ...parsed.value, mustChangePassword: true }, me);
    return redirect(`/admin/staff/${id}?created=${pending.length ? 'pending' : '1'}`);
  } catch (error) {
    if (error instanceof StaffError) {
      return json({ fieldErrors: { [error.field]: error.message } }, { status: 400 });
    }
    throw error;
  }
}

export default function NewStaffRoute() {
  const data = useActionData<typeof action>();
  const errors: Record<string, string | undefined> = data?.fieldErrors ?? {};
  return (
    <div className="panel">
      <h1>Add a staff member</h1>
      <p className="muted">
        They sign in with the temporary password and must choose their own before anything else.
        Roles that reach personal data or decide access wait for a second person (another admin or a
        security reviewer); the approval replaces the temporary password with a one-time link.
      </p>
      <Form method="post" className="stack" noValidate>
        <Field label="Email" name="email" type="email" autoComplete="off" error={errors.email} />
        <Field
          label="Name"
          name="displayName"
          type="text"
          autoComplete="off"
          error={errors.displayName}
        />
        <Field
          label="Temporary password (at least 12 characters)"
          name="password"
          type="password"
          autoComplete="new-password"
          error={errors.password}
        />
        <fieldset aria-describedby={errors.roles ? 'roles-error' : undefined}>
          <legend>Roles</legend>
          {ROLES.map((r) => (
            <label key={r}>
              <input type="checkbox" name="roles" value={r} /> {ROLE_NAMES[r]}
            </label>
          ))}
          {errors.roles ? (
            <p className="field-error" id="roles-error" role="alert">
              {errors.roles}
            </p>
          ) : null}
        </fieldset>
        <div className="row">
          <button type="submit">Create account</button>
          <Link className="button secondary" to="/admin/staff">
            Cancel
          </Link>
        </div>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
