import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { requires } from '#app/modules/auth/access.ts';
import { IntakeFormSchema } from '#app/modules/privacy/input.server.ts';
import { mailConfigured } from '#app/modules/privacy/outbox.server.ts';
import { createRequest } from '#app/modules/privacy/requests.server.ts';
import {
  CHANNELS,
  INTAKE_DETAIL_FIELDS,
  RECTIFIABLE_FIELDS,
  REQUEST_TYPES,
  TYPE_LABELS,
} from '#app/modules/privacy/vocabulary.ts';
import { LOOKUP_QUERY_HINT } from '#app/modules/users/lookup.ts';
import { lookupUser } from '#app/modules/users/lookup.server.ts';
import { PURPOSES } from '#app/modules/vocabulary.ts';
import { GoneError, InputError } from '#app/utils/errors.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

// A privacy request received by email, letter, phone or otherwise, entered by an officer. The
// user is found as the lookup finds them (exact id or email, audited and counted against the daily
// limit); the request starts unverified, and the user is asked to sign in and confirm it.

export const access = requires('privacy:process');

export const meta: MetaFunction = () => [{ title: 'New privacy request · Custodian' }];

const CHANNEL_LABELS: Record<(typeof CHANNELS)[number], string> = {
  email: 'Email',
  letter: 'Letter',
  phone: 'Phone',
  other: 'Other',
};

const FIELD_LABELS: Record<(typeof RECTIFIABLE_FIELDS)[number], string> = {
  display_name: 'Name',
  email: 'Email address',
  phone: 'Phone number',
  country: 'Country (ISO code, e.g. DE)',
  locale: 'Language (e.g. en-GB)',
};

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  // A link from a user's page fills the user in; nothing is looked up before the form is sent.
  const user = (new URL(args.request.url).searchParams.get('user') ?? '').slice(0, 320);
  return json({ user, mailConfigured: mailConfigured() });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const form = formObject(await args.request.formData(), [INTAKE_DETAIL_FIELDS.purposes]);
  const parsed = parseForm(IntakeFormSchema, form);
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  const { query, type, channel, details } = parsed.value;
  if (!me.permissions.has('users:lookup')) {
    return json(
      { fieldErrors: { user: 'Finding a user takes the users:lookup permission' } },
      { status: 403 },
    );
  }
  const found = await lookupUser(me, query);
  if (found.kind === 'refused') {
    return json(
      {
        fieldErrors: {
          user: `Lookup refused: you have looked up ${found.limit} different users today, the most allowed in one day.`,
        },
      },
      { status: 429 },
    );
  }
  if (found.kind === 'not_found') {
    const what = query.by === 'id' ? 'id' : 'email address';
    return json(
      { fieldErrors: { user: `No user has this ${what}: only exact matches are found` } },
      { status: 400 },
    );
  }
  try {
    const created = await createRequest({ userId: found.card.id, type, details, channel }, me);
    return redirect(`/privacy/${created.id}?entered=1`);
  } catch (error) {
    if (error instanceof InputError) {
      return json({ fieldErrors: { [error.field]: error.message } }, { status: 400 });
    }
    if (error instanceof GoneError) {
      return json({ fieldErrors: { user: error.message } }, { status: 410 });
    }
    return answer(error);
  }
}

function FieldError({ id, error }: { id: string; error: string | undefined }) {
  return error ? (
    <p className="field-error" id={id} role="alert">
      {error}
    </p>
  ) : null;
}

export default function NewPrivacyRequestRoute() {
  const { user, mailConfigured } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const errors: Record<string, string | undefined> = data?.fieldErrors ?? {};
  const invalid = (name: string) =>
    errors[name] ? { 'aria-invalid': true, 'aria-describedby': `${name}-error` } : {};
  return (
    <main>
      <p>
        <Link to="/privacy">← Privacy requests</Link>
      </p>
      <h1>New privacy request</h1>
      <p className="muted">
        For a request received by email, letter, phone or otherwise. It starts unverified: the user
        is sent a message asking them to sign in to the product and confirm it, or you record how
        you verified their identity on the request’s page. Its deadline’s clock waits meanwhile.
        {mailConfigured
          ? null
          : ' Mail is not configured (CUSTODIAN_SMTP_URL): the message waits in the outbox.'}
      </p>
      <Form method="post" className="stack panel" noValidate>
        <div>
          <label htmlFor="user">User id or email address</label>
          <input
            id="user"
            name="user"
            type="text"
            defaultValue={user}
            autoComplete="off"
            spellCheck={false}
            maxLength={320}
            {...invalid('user')}
          />
          <p className="muted search-hint">
            {LOOKUP_QUERY_HINT} The lookup is recorded in the audit trail and counts towards your
            daily limit.
          </p>
          <FieldError id="user-error" error={errors.user} />
        </div>
        <div>
          <label htmlFor="type">Type</label>
          <select id="type" name="type" defaultValue="" {...invalid('type')}>
            <option value="" disabled>
              Choose…
            </option>
            {REQUEST_TYPES.map((t) => (
              <option key={t} value={t}>
                {TYPE_LABELS[t]}
              </option>
            ))}
          </select>
          <FieldError id="type-error" error={errors.type} />
        </div>
        <div>
          <label htmlFor="channel">Received by</label>
          <select id="channel" name="channel" defaultValue="" {...invalid('channel')}>
            <option value="" disabled>
              Choose…
            </option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {CHANNEL_LABELS[c]}
              </option>
            ))}
          </select>
          <FieldError id="channel-error" error={errors.channel} />
        </div>
        <fieldset>
          <legend>Rectification: the new values asked for (only the fields to change)</legend>
          {RECTIFIABLE_FIELDS.map((f) => {
            const name = INTAKE_DETAIL_FIELDS.change(f);
            return (
              <div key={f}>
                <label htmlFor={name}>{FIELD_LABELS[f]}</label>
                <input id={name} name={name} type="text" autoComplete="off" {...invalid(name)} />
                <FieldError id={`${name}-error`} error={errors[name]} />
              </div>
            );
          })}
          <FieldError id="details.changes-error" error={errors['details.changes']} />
        </fieldset>
        <fieldset {...invalid(INTAKE_DETAIL_FIELDS.purposes)}>
          <legend>Restriction or objection: the purposes</legend>
          {PURPOSES.map((p) => (
            <label key={p}>
              <input type="checkbox" name={INTAKE_DETAIL_FIELDS.purposes} value={p} /> {p}
            </label>
          ))}
          <FieldError
            id={`${INTAKE_DETAIL_FIELDS.purposes}-error`}
            error={errors[INTAKE_DETAIL_FIELDS.purposes]}
          />
        </fieldset>
        <div>
          <label htmlFor={INTAKE_DETAIL_FIELDS.grounds}>Objection: the user’s grounds</label>
          <textarea
            id={INTAKE_DETAIL_FIELDS.grounds}
            name={INTAKE_DETAIL_FIELDS.grounds}
            rows={3}
            maxLength={4000}
            {...invalid(INTAKE_DETAIL_FIELDS.grounds)}
          />
          <FieldError
            id={`${INTAKE_DETAIL_FIELDS.grounds}-error`}
            error={errors[INTAKE_DETAIL_FIELDS.grounds]}
          />
        </div>
        <p className="muted">
          New values and grounds are personal data: they are stored encrypted under the user’s key
          and shown to nobody without a grant bound to the request.
        </p>
        <div className="row">
          <button type="submit">Enter the request</button>
          <Link className="button secondary" to="/privacy">
            Cancel
          </Link>
        </div>
      </Form>
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
