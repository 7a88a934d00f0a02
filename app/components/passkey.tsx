import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useFetcher, useSubmit } from '@remix-run/react';
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';

// Passkeys in the page (ADR 038): the route's action hands out a challenge (`passkey-options`,
// through a fetcher), the browser asks the authenticator, and its answer is posted to the same
// action as JSON text in the field `response`. Script from the bundle only (the CSP allows no
// inline script); without JavaScript, or in a browser without WebAuthn, nothing here shows and
// the code field still works.

/** True once the page runs its script and the browser can use passkeys. */
function usePasskeysUsable() {
  const [usable, setUsable] = useState(false);
  useEffect(() => setUsable(browserSupportsWebAuthn()), []);
  return usable;
}

interface OptionsAnswer<T> {
  passkeyOptions?: T | null;
  name?: string;
  message?: string;
  fieldErrors?: Record<string, string | undefined>;
}

function failure(error: unknown) {
  const name = error instanceof Error ? error.name : '';
  if (name === 'NotAllowedError' || name === 'AbortError') {
    return 'The passkey was not used (cancelled or timed out). Try again, or use a code.';
  }
  if (name === 'InvalidStateError') return 'This passkey is already enrolled on your account.';
  return `The browser could not use a passkey${error instanceof Error ? `: ${error.message}` : ''}.`;
}

/** The "Use a passkey" button of the sign-in's second step and of step-up. */
export function UsePasskey({ redirectTo }: { redirectTo?: string }) {
  const usable = usePasskeysUsable();
  const fetcher = useFetcher<OptionsAnswer<PublicKeyCredentialRequestOptionsJSON>>();
  const submit = useSubmit();
  const [error, setError] = useState<string | null>(null);
  const handled = useRef<string | null>(null);

  useEffect(() => {
    const data = fetcher.data;
    if (fetcher.state !== 'idle' || !data) return;
    const options = data.passkeyOptions;
    if (!options) {
      if (data.message) setError(data.message);
      return;
    }
    if (handled.current === options.challenge) return;
    handled.current = options.challenge;
    // The options came through JSON, as they were made to.
    startAuthentication({
      optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON,
    }).then(
      (answer) => {
        const fields: Record<string, string> = {
          intent: 'passkey',
          response: JSON.stringify(answer),
        };
        if (redirectTo) fields.redirectTo = redirectTo;
        submit(fields, { method: 'post' });
      },
      (e: unknown) => setError(failure(e)),
    );
  }, [fetcher.state, fetcher.data, redirectTo, submit]);

  if (!usable) return null;
  return (
    <div className="stack" data-testid="use-passkey">
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <button
        type="button"
        className="secondary"
        disabled={fetcher.state !== 'idle'}
        onClick={() => {
          setError(null);
          fetcher.submit({ intent: 'passkey-options' }, { method: 'post' });
        }}
      >
        Use a passkey
      </button>
    </div>
  );
}

/** /account/security: name a new passkey or security key and enrol it. */
export function AddPasskey({ error: serverError }: { error?: string }): ReactNode {
  const usable = usePasskeysUsable();
  const fetcher = useFetcher<OptionsAnswer<PublicKeyCredentialCreationOptionsJSON>>();
  const submit = useSubmit();
  const [error, setError] = useState<string | null>(null);
  const handled = useRef<string | null>(null);

  useEffect(() => {
    const data = fetcher.data;
    if (fetcher.state !== 'idle' || !data?.passkeyOptions) return;
    const options = data.passkeyOptions;
    if (handled.current === options.challenge) return;
    handled.current = options.challenge;
    startRegistration({
      optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON,
    }).then(
      (answer) =>
        submit(
          { intent: 'passkey-register', name: data.name ?? '', response: JSON.stringify(answer) },
          { method: 'post' },
        ),
      (e: unknown) => setError(failure(e)),
    );
  }, [fetcher.state, fetcher.data, submit]);

  if (!usable) {
    return <p className="muted">Adding a passkey needs JavaScript and a browser with passkeys.</p>;
  }
  const nameError = fetcher.data?.fieldErrors?.name ?? serverError;
  return (
    <fetcher.Form
      method="post"
      className="stack"
      noValidate
      onSubmit={() => setError(null)}
      data-testid="add-passkey"
    >
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <input type="hidden" name="intent" value="passkey-options" />
      <div>
        <label htmlFor="field-passkey-name">Name of the passkey or security key</label>
        <input
          id="field-passkey-name"
          type="text"
          name="name"
          maxLength={60}
          placeholder="Work laptop"
          aria-invalid={nameError ? true : undefined}
          aria-describedby={nameError ? 'field-passkey-name-error' : undefined}
        />
        {nameError ? (
          <p className="field-error" id="field-passkey-name-error" role="alert">
            {nameError}
          </p>
        ) : null}
      </div>
      <button type="submit" disabled={fetcher.state !== 'idle'}>
        Add a passkey
      </button>
    </fetcher.Form>
  );
}
