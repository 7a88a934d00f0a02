import { json } from '@remix-run/node';
import { GrantError, GrantInputError, type FieldErrors } from '#app/modules/access/errors.ts';
import { invariantResponse } from './http.server.ts';

// How the grant pages' actions answer the access module's errors. A refusal was audited by the
// domain before it threw.

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
  invariantResponse(error.status !== 404, error.message, { status: 404 });
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
