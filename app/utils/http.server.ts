import { json } from '@remix-run/node';
import type { GrantRefusal } from '#app/modules/access/errors.ts';
import { ConflictError, ForbiddenError, GoneError, InputError, NotFoundError } from './errors.ts';

// How routes turn what modules return or throw into HTTP (ADR 015): the one place besides guard()
// that throws Responses. Modules never import it.

/** Epic Stack's invariantResponse: throws a plain-text answer with `status` unless `condition`. */
export function invariantResponse(
  condition: unknown,
  message: string,
  init: { status: number } = { status: 400 },
): asserts condition {
  if (!condition) {
    throw new Response(message, {
      status: init.status,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });
  }
}

/**
 * The domain's errors as answers: bad input 400 (naming the field), forbidden 403, not found 404,
 * a move the state forbids 409, gone 410.
 * Anything else is rethrown as it is (a 500 through the error boundary). Use as `.catch(answer)`.
 */
export function answer(error: unknown): never {
  if (error instanceof InputError) {
    invariantResponse(false, `Invalid ${error.field}: ${error.message}`, { status: 400 });
  }
  if (error instanceof NotFoundError) invariantResponse(false, error.message, { status: 404 });
  if (error instanceof GoneError) invariantResponse(false, error.message, { status: 410 });
  if (error instanceof ForbiddenError) invariantResponse(false, error.message, { status: 403 });
  if (error instanceof ConflictError) invariantResponse(false, error.message, { status: 409 });
  throw error;
}

/** Runs `work` (a module's synchronous parse), answering its domain errors as answer() does. */
export function attempt<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    return answer(error);
  }
}

/** A user data page refused by the personal-data gate (already audited): 403 with what is missing. */
export function refused(refusal: GrantRefusal): never {
  throw json(refusal, { status: 403, headers: { 'Cache-Control': 'no-store' } });
}
