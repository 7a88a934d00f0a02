import { AsyncLocalStorage } from 'node:async_hooks';
import { Authenticator } from 'remix-auth';
import { FormStrategy } from 'remix-auth-form';
import { z } from 'zod';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { verifyAgainstNothing, verifyPassword } from './password.server.ts';
import { findStaffForSignIn } from './staff.server.ts';
import {
  accountKey,
  addressKey,
  checkThrottle,
  clearThrottle,
  recordFailure,
  throttleMessage,
} from './throttle.server.ts';
import { createSession, type RequestContext } from './session.server.ts';
import { getDb } from '#app/db/client.server.ts';

// remix-auth holds no session: the strategy answers "who is this", and the route stores the
// session. A second factor or single sign-on becomes another strategy beside this one.

export const SignInSchema = z.object({
  email: z.string().trim().min(1, 'Enter your email').max(320, 'Email is too long'),
  password: z.string().min(1, 'Enter your password').max(256, 'Password is too long'),
  redirectTo: z.string().optional(),
});

export class SignInError extends Error {
  constructor(
    message: string,
    public fieldErrors: Partial<Record<'email' | 'password', string>> = {},
    public status = 401,
  ) {
    super(message);
  }
}

const GENERIC_FAILURE = 'That email and password do not match an active account.';

export interface SignedInStaff {
  staffId: string;
  roles: string[];
}

/** Opens the session and records the sign-in together: no session without its audit entry. */
export async function startSession(who: SignedInStaff, ctx: RequestContext) {
  return getDb().transaction(async (tx) => {
    const session = await createSession(who.staffId, ctx, tx);
    await recordAudit(
      {
        action: 'auth.sign_in',
        outcome: 'allowed',
        actor: { staffId: who.staffId, roles: who.roles },
        subjectStaffId: who.staffId,
        sessionId: session.sessionId,
        details: {},
        client: { address: ctx.clientAddress || null, userAgent: ctx.userAgent },
      },
      tx,
    );
    return session.token;
  });
}

// NOTE: the strategy hands the verify callback a clone of the request, so the client's address
// and agent travel beside it rather than on it.
const contexts = new AsyncLocalStorage<RequestContext>();

const authenticator = new Authenticator<SignedInStaff>();
authenticator.use(
  new FormStrategy(async ({ form }) => {
    const ctx = contexts.getStore()!;
    const parsed = SignInSchema.safeParse(Object.fromEntries(form));
    if (!parsed.success) {
      const fieldErrors: Record<string, string> = {};
      for (const issue of parsed.error.issues) fieldErrors[String(issue.path[0])] ??= issue.message;
      throw new SignInError('Check the highlighted fields.', fieldErrors, 400);
    }
    const { email, password } = parsed.data;
    const keys = [accountKey(email), addressKey(ctx.clientAddress || 'unknown')];
    const client = { address: ctx.clientAddress || null, userAgent: ctx.userAgent };

    const verdict = await checkThrottle(keys);
    if (!verdict.ok) {
      await recordAudit({
        action: 'auth.sign_in',
        outcome: 'denied',
        details: { reason: verdict.locked ? 'locked' : 'throttled' },
        client,
      });
      throw new SignInError(throttleMessage(verdict), {}, 429);
    }

    const account = await findStaffForSignIn(email);
    const ok = account
      ? (await verifyPassword(account.passwordHash, password)) && account.status === 'active'
      : await verifyAgainstNothing(password);
    if (!ok || !account) {
      const locked = await recordFailure(keys);
      await recordAudit({
        action: 'auth.sign_in',
        outcome: 'denied',
        subjectStaffId: account?.id ?? null,
        details: { reason: account ? 'bad_password_or_disabled' : 'no_account' },
        client,
      });
      for (const key of locked) {
        await recordAudit({
          action: 'auth.lock',
          outcome: 'allowed',
          subjectStaffId: key.startsWith('account:') ? (account?.id ?? null) : null,
          details: { scope: key.startsWith('account:') ? 'account' : 'address' },
          client,
        });
      }
      throw new SignInError(GENERIC_FAILURE);
    }
    await clearThrottle(keys[0]!);
    return { staffId: account.id, roles: account.roles };
  }),
  'form',
);

/** Checks the posted email and password; throws SignInError with a message fit to show. */
export async function authenticateStaff(request: Request, ctx: RequestContext) {
  return contexts.run(ctx, () => authenticator.authenticate('form', request));
}

/** Only same-site paths: never an open redirect to another origin. */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = '/') {
  if (
    typeof to !== 'string' ||
    !to.startsWith('/') ||
    to.startsWith('//') ||
    to.startsWith('/\\')
  ) {
    return fallback;
  }
  return to;
}
