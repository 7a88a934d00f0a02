import { json, type AppLoadContext } from '@remix-run/node';
import { requestContext } from '#app/modules/auth/access.server.ts';
import type { SignedIn } from '#app/modules/auth/session.server.ts';
import { GrantError, GrantInputError, type FieldErrors } from './errors.ts';
import type { GrantActor } from './run.server.ts';

// How the grant pages' actions call the domain: who acts (for the audit entry) and how its errors
// become answers. A refusal was audited by the domain before it threw.

export function grantActorOf(me: SignedIn, context: AppLoadContext): GrantActor {
  const ctx = requestContext(context);
  return {
    staffId: me.staffId,
    sessionId: me.sessionId,
    clientAddress: ctx.clientAddress || null,
    userAgent: ctx.userAgent || null,
  };
}

export type FormValues = Record<string, string | string[] | undefined>;

export interface GrantProblem {
  ok: false;
  /** What was sent, as it would be stored (card numbers redacted), to fill the form again. */
  values: FormValues;
  fieldErrors: FieldErrors;
  /** A rule's refusal (four eyes, a missing permission, a state that moved on), for an alert. */
  formError: string | null;
  reason: string;
}

/** The answer to a GrantError: 400 with field errors, 403/409 with the refusal; 404 thrown. */
export function grantProblem(error: unknown, values: FormValues = {}) {
  if (!(error instanceof GrantError)) throw error;
  if (error.status === 404) throw new Response(error.message, { status: 404 });
  const problem: GrantProblem = {
    ok: false,
    values,
    fieldErrors: error.fieldErrors,
    formError: error instanceof GrantInputError ? null : error.message,
    reason: error.reason,
  };
  return json(problem, { status: error.status });
}

/** A failed zod parse of a form, as the same answer. */
export function inputProblem(fieldErrors: FieldErrors, values: FormValues = {}) {
  const problem: GrantProblem = {
    ok: false,
    values,
    fieldErrors,
    formError: null,
    reason: 'invalid_input',
  };
  return json(problem, { status: 400 });
}
