import type {
  ActionFunctionArgs,
  HeadersFunction,
  LoaderFunctionArgs,
  MetaFunction,
} from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { utc } from '#app/components/time.tsx';
import { publicAccess } from '#app/modules/auth/access.ts';
import { PasswordLinkSchema } from '#app/modules/auth/input.server.ts';
import {
  inspectPasswordLink,
  setPasswordWithLink,
  type LinkState,
} from '#app/modules/auth/password-links.server.ts';
import { InputError } from '#app/utils/errors.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';
import { guard, visitor } from '#app/utils/guard.server.ts';

// The one-time link a staff member sets their password with, after a second person approved roles
// for their account (ADR 021). Whoever holds the link may use it once, within 24 hours.
export const access = publicAccess;

/** The document answer carries the loader's (or the action's) no-store. */
export const headers: HeadersFunction = ({ actionHeaders, loaderHeaders }) =>
  actionHeaders.has('Cache-Control') ? actionHeaders : loaderHeaders;

export const meta: MetaFunction = () => [{ title: 'Set your password · Custodian' }];

// The token is a credential: the page is never stored, and its address never sent onwards.
// same-origin, not no-referrer: the link's token never leaves for another site, and the form's
// POST keeps its Origin (no-referrer makes it `null`, which the same-origin check refuses).
const HEADERS = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'same-origin' };

function statusOf(state: LinkState['state']) {
  return state === 'valid' ? 200 : state === 'unknown' ? 404 : 410;
}

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const found = await inspectPasswordLink(args.params.token ?? '');
  return json(
    found.state === 'valid'
      ? { state: found.state, email: found.email, expiresAt: found.expiresAt.toISOString() }
      : { state: found.state, email: null, expiresAt: null },
    { status: statusOf(found.state), headers: HEADERS },
  );
}

type ActionData = { fieldErrors: Record<string, string>; state: LinkState['state'] | null };

export async function action(args: ActionFunctionArgs) {
  await guard(args, access);
  const parsed = parseForm(PasswordLinkSchema, formObject(await args.request.formData()));
  if (!parsed.ok) {
    return json<ActionData>(
      { fieldErrors: parsed.fieldErrors, state: null },
      { status: 400, headers: HEADERS },
    );
  }
  try {
    const result = await setPasswordWithLink(
      visitor(args),
      args.params.token ?? '',
      parsed.value.password,
    );
    return json<ActionData>(
      { fieldErrors: {}, state: result.state },
      { status: statusOf(result.state), headers: HEADERS },
    );
  } catch (error) {
    if (error instanceof InputError) {
      return json<ActionData>(
        { fieldErrors: { [error.field]: error.message }, state: null },
        { status: 400, headers: HEADERS },
      );
    }
    throw error;
  }
}

const GONE: Record<Exclude<LinkState['state'], 'valid'>, string> = {
  used: 'This link was already used: it sets a password once.',
  expired: 'This link has expired: it was valid for 24 hours.',
  unknown: 'This link is not valid: check that you copied all of it.',
};

export default function PasswordLinkRoute() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors: Record<string, string | undefined> = result?.fieldErrors ?? {};
  if (result?.state === 'valid') {
    return (
      <div className="panel">
        <h1>Your password is set</h1>
        <p role="status">Sign in with your email and the password you just chose.</p>
        <p>
          <Link className="button" to="/login">
            Sign in
          </Link>
        </p>
      </div>
    );
  }
  const state = result?.state ?? data.state;
  if (state !== 'valid') {
    return (
      <div className="panel">
        <h1>This link cannot be used</h1>
        <p className="form-error" role="alert">
          {GONE[state]}
        </p>
        <p>
          Ask an admin or a security reviewer for a new one. If you did not use this link yourself,
          tell the security team: somebody else may have.
        </p>
      </div>
    );
  }
  return (
    <div className="panel">
      <h1>Set your password</h1>
      <p className="muted">
        For <strong>{data.email}</strong>. This link works once, until{' '}
        {data.expiresAt ? utc(data.expiresAt, 'second') : ''}.
      </p>
      <Form method="post" className="stack" noValidate>
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
        <button type="submit">Set password</button>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
