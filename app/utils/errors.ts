// The errors a domain module throws when it cannot answer (ADR 015). Modules return values and
// throw these; only routes speak HTTP, through app/utils/http.server.ts, which maps each to its
// status. Plain classes: no Remix, no Response.

/** Bad input in the address or a form, named by its field: 400. */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/** Nothing at this address: 404. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** It existed and is gone for good (an erased user, a shredded key): 410. */
export class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

/** The thing exists but cannot make this move in its current state (a request already closed): 409. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The actor may not do this, whatever the input (four eyes, a missing permission): 403. */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}
