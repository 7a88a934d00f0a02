import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { parseForm } from '#app/utils/forms.server.ts';
import { PasskeyStepSchema, SecondFactorSchema } from './input.server.ts';
import type { FactorProof } from './sign-in.server.ts';

// What the two pages that take a second factor (the sign-in's second step and /account/verify)
// read from their forms alike (ADR 035, ADR 038): the code form sends no intent; the passkey steps
// send `passkey-options` (the challenge is made and answered at once) or `passkey` with the
// authenticator's answer. Each page adds what is its own: whose challenge, and what follows.

export type FactorForm =
  | { ok: true; proof: FactorProof; redirectTo?: string }
  | {
      ok: false;
      status: number;
      message: string;
      fieldErrors: Partial<Record<string, string>>;
      passkeyOptions: PublicKeyCredentialRequestOptionsJSON | null;
      /** The challenge's options: never to be cached. */
      noStore?: boolean;
    };

/** The form's proof, or what to answer instead (the passkey options asked for, or the errors). */
export async function readFactorForm(
  form: Record<string, unknown>,
  passkeyOptions: () => Promise<PublicKeyCredentialRequestOptionsJSON | null>,
): Promise<FactorForm> {
  if (form.intent !== undefined) {
    const parsed = parseForm(PasskeyStepSchema, form);
    if (!parsed.ok) {
      return {
        ok: false,
        status: 400,
        message: 'The passkey answer was not understood. Try again, or enter a code.',
        fieldErrors: parsed.fieldErrors,
        passkeyOptions: null,
      };
    }
    if (parsed.value.intent === 'passkey-options') {
      const options = await passkeyOptions();
      return {
        ok: false,
        status: options ? 200 : 400,
        message: options ? '' : 'Your account has no passkey: enter a code instead.',
        fieldErrors: {},
        passkeyOptions: options,
        noStore: true,
      };
    }
    return {
      ok: true,
      proof: { kind: 'passkey', response: parsed.value.response },
      redirectTo: parsed.value.redirectTo,
    };
  }
  const parsed = parseForm(SecondFactorSchema, form);
  if (!parsed.ok) {
    return {
      ok: false,
      status: 400,
      message: 'Check the highlighted field.',
      fieldErrors: parsed.fieldErrors,
      passkeyOptions: null,
    };
  }
  return {
    ok: true,
    proof: { kind: 'code', code: parsed.value.code },
    redirectTo: parsed.value.redirectTo,
  };
}
