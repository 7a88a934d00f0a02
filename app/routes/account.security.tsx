import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Field } from '#app/components/form-field.tsx';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import {
  confirmTotpEnrolment,
  factorSummary,
  pendingEnrolment,
  regenerateRecoveryCodes,
  removeFactor,
  startTotpEnrolment,
} from '#app/modules/auth/factors.server.ts';
import { SecurityActionSchema } from '#app/modules/auth/input.server.ts';
import { needsSecondFactor } from '#app/modules/auth/permissions.ts';
import { enrolPasskey, passkeyRegistrationOptions } from '#app/modules/auth/webauthn.server.ts';
import { AddPasskey } from '#app/components/passkey.tsx';
import { formObject, parseForm } from '#app/utils/forms.server.ts';

// The staff member's own second factors (ADR 035, 038): enrol an authenticator app (QR code and
// the secret as text, confirmed with a code) or a passkey (named; the browser's answer to a
// challenge), remove one, get new recovery codes. A session held to
// enrolling opens this page and sign-out only.

export const access = signedIn({ whilePasswordChangeDue: true, whileSecondFactorDue: true });

export const meta: MetaFunction = () => [{ title: 'Sign-in security · Custodian' }];

const NO_STORE = { 'Cache-Control': 'no-store' };

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const summary = await factorSummary(me.staffId);
  const pending = await pendingEnrolment(me);
  return json(
    {
      due: me.secondFactorDue ?? false,
      required: needsSecondFactor(me.permissions, summary.requiredByAdmin),
      factors: summary.factors.map((f) => ({
        id: f.id,
        kind: f.kind,
        name: f.name,
        confirmedAt: f.confirmedAt.toISOString(),
      })),
      recoveryCodesLeft: summary.recoveryCodesLeft,
      pending: pending && { secret: pending.secret, qr: pending.qr },
    },
    { headers: NO_STORE },
  );
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const parsed = parseForm(SecurityActionSchema, formObject(await args.request.formData()));
  if (!parsed.ok) {
    return json(
      { ok: false as const, fieldErrors: parsed.fieldErrors, recoveryCodes: null },
      { status: 400 },
    );
  }
  const input = parsed.value;
  switch (input.intent) {
    case 'start-totp': {
      await startTotpEnrolment(me);
      return json({ ok: true as const, fieldErrors: {}, recoveryCodes: null, done: 'started' });
    }
    case 'confirm-totp': {
      const result = await confirmTotpEnrolment(me, input.code);
      if (!result.ok) {
        const message =
          result.reason === 'no_enrolment'
            ? 'Start the enrolment again: no authenticator app is waiting for its first code'
            : 'That code is not right: enter the six digits your app shows now';
        return json(
          { ok: false as const, fieldErrors: { code: message }, recoveryCodes: null },
          { status: 400 },
        );
      }
      return json(
        {
          ok: true as const,
          fieldErrors: {},
          recoveryCodes: result.recoveryCodes,
          done: 'enrolled',
        },
        { headers: NO_STORE },
      );
    }
    case 'remove': {
      await requireRecentSecondFactor(me, 'factor.manage', '/account/security');
      const removed = await removeFactor(me, input.factorId);
      if (removed !== 'removed') {
        return json(
          {
            ok: false as const,
            fieldErrors: {
              factorId:
                removed === 'last_required'
                  ? 'Your roles need a second factor and this is your last one: enrol another before you remove it'
                  : 'Not a factor of this account',
            },
            recoveryCodes: null,
          },
          { status: 400 },
        );
      }
      return json({ ok: true as const, fieldErrors: {}, recoveryCodes: null, done: 'removed' });
    }
    case 'passkey-options': {
      const options = await passkeyRegistrationOptions(me);
      return json(
        {
          ok: true as const,
          fieldErrors: {},
          recoveryCodes: null,
          passkeyOptions: options,
          name: input.name,
        },
        { headers: NO_STORE },
      );
    }
    case 'passkey-register': {
      const result = await enrolPasskey(me, input.name, input.response);
      if (!result.ok) {
        const message =
          result.reason === 'no_challenge' || result.reason === 'expired_challenge'
            ? 'The passkey took too long or was already answered: add it again'
            : result.reason === 'duplicate'
              ? 'This passkey is already enrolled'
              : 'The passkey was not accepted: add it again';
        return json(
          { ok: false as const, fieldErrors: { response: message }, recoveryCodes: null },
          { status: 400 },
        );
      }
      return json(
        {
          ok: true as const,
          fieldErrors: {},
          recoveryCodes: result.recoveryCodes,
          done: 'passkey-enrolled',
        },
        { headers: NO_STORE },
      );
    }
    case 'recovery-codes': {
      await requireRecentSecondFactor(me, 'factor.manage', '/account/security');
      const codes = await regenerateRecoveryCodes(me);
      if (!codes) {
        return json(
          {
            ok: false as const,
            fieldErrors: { intent: 'Enrol a passkey or an authenticator app first' },
            recoveryCodes: null,
          },
          { status: 400 },
        );
      }
      return json(
        { ok: true as const, fieldErrors: {}, recoveryCodes: codes, done: 'recovery-codes' },
        { headers: NO_STORE },
      );
    }
  }
}

export default function SecurityRoute() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors: Record<string, string | undefined> = result?.fieldErrors ?? {};
  const passkeys = data.factors.filter((f) => f.kind === 'webauthn');
  const apps = data.factors.filter((f) => f.kind === 'totp');
  return (
    <div className="panel stack">
      <h1>Sign-in security</h1>
      {data.due ? (
        <p className="notice" role="status">
          Your roles need a second factor. Enrol a passkey or an authenticator app below; until you
          do, the console opens only this page.
        </p>
      ) : data.required ? (
        <p>Your roles need a second factor at every sign-in.</p>
      ) : (
        <p>A second factor is optional for your account; it protects it all the same.</p>
      )}
      {errors.intent ? (
        <p className="form-error" role="alert">
          {errors.intent}
        </p>
      ) : null}
      {errors.factorId ? (
        <p className="form-error" role="alert">
          {errors.factorId}
        </p>
      ) : null}

      {result?.recoveryCodes ? (
        <section aria-labelledby="codes-title" className="stack">
          <h2 id="codes-title">Your recovery codes</h2>
          <p role="status">
            Each code signs you in once when your authenticator app is not at hand. Keep them
            somewhere safe: they are shown only now.
          </p>
          <ul className="recovery-codes" data-testid="recovery-codes">
            {result.recoveryCodes.map((code) => (
              <li key={code}>
                <code>{code}</code>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      {result && 'done' in result && result.done === 'passkey-enrolled' ? (
        <p className="notice" role="status">
          Passkey added. You can sign in with it from now on.
        </p>
      ) : null}
      {errors.response ? (
        <p className="form-error" role="alert">
          {errors.response}
        </p>
      ) : null}

      <section aria-labelledby="passkeys-title" className="stack">
        <h2 id="passkeys-title">Passkeys and security keys</h2>
        {passkeys.length === 0 ? (
          <p>No passkey or security key is enrolled.</p>
        ) : (
          <ul data-testid="passkeys">
            {passkeys.map((f) => (
              <li key={f.id}>
                <strong>{f.name}</strong>, enrolled{' '}
                <time dateTime={f.confirmedAt}>{f.confirmedAt.slice(0, 16).replace('T', ' ')}</time>{' '}
                UTC
                <Form method="post" className="inline-form">
                  <input type="hidden" name="factorId" value={f.id} />
                  <button type="submit" name="intent" value="remove" className="danger">
                    Remove passkey {f.name}
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        )}
        <AddPasskey />
      </section>

      <section aria-labelledby="apps-title" className="stack">
        <h2 id="apps-title">Authenticator apps</h2>
        {apps.length === 0 ? (
          <p>No authenticator app is enrolled.</p>
        ) : (
          <ul>
            {apps.map((f, i) => (
              <li key={f.id}>
                Authenticator app {i + 1}, enrolled{' '}
                <time dateTime={f.confirmedAt}>{f.confirmedAt.slice(0, 16).replace('T', ' ')}</time>{' '}
                UTC
                <Form method="post" className="inline-form">
                  <input type="hidden" name="factorId" value={f.id} />
                  <button type="submit" name="intent" value="remove" className="danger">
                    Remove authenticator app {i + 1}
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        )}
        {data.pending ? (
          <div className="stack" data-testid="totp-enrolment">
            <p>
              Scan this QR code with your authenticator app, or type the secret into it, then enter
              the code it shows.
            </p>
            <img src={data.pending.qr} alt="QR code of the secret for your authenticator app" />
            <p>
              Secret: <code data-testid="totp-secret">{data.pending.secret}</code>
            </p>
            <Form method="post" className="stack" noValidate>
              <Field
                label="Code from your authenticator app"
                name="code"
                inputMode="numeric"
                autoComplete="one-time-code"
                error={errors.code}
              />
              <button type="submit" name="intent" value="confirm-totp">
                Confirm the authenticator app
              </button>
            </Form>
          </div>
        ) : (
          <Form method="post">
            <button type="submit" name="intent" value="start-totp">
              Enrol an authenticator app
            </button>
          </Form>
        )}
      </section>

      {data.factors.length > 0 ? (
        <section aria-labelledby="recovery-title" className="stack">
          <h2 id="recovery-title">Recovery codes</h2>
          <p>
            {data.recoveryCodesLeft} of 10 recovery codes left. New codes replace all the old ones.
          </p>
          <Form method="post">
            <button type="submit" name="intent" value="recovery-codes">
              Make new recovery codes
            </button>
          </Form>
        </section>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
