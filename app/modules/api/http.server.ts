import { createHash } from 'node:crypto';
import type { AppLoadContext } from '@remix-run/node';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { apiIdempotency } from '#app/db/schema.ts';
import type { Client, ServiceActor } from '#app/modules/actor.ts';
import { canonicalBytes } from '#app/modules/audit/canonical.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  InputError,
  NotFoundError,
} from '#app/utils/errors.ts';
import { tokenActor, touchToken } from './tokens.server.ts';
import { IDEMPOTENCY_KEY, type Scope } from './vocabulary.ts';

// The service API's one HTTP layer (ADR 023): every /api/v1 route is `apiRoute({ GET, POST })`
// over endpoint specs, so the JSON error shape and the order of the checks live here only:
//
//   405 the method  → 401 the token  → 403 its scope  → 400 the input (query, Idempotency-Key,
//   JSON body)  → 404/410 the subject  → 409 or replay (the Idempotency-Key)  → the handler
//
// Every error is `{ "errors": { "<field>": "<message>" } }` and writes nothing: not the audit
// trail, not the token's last use, not an idempotency record. Every answered call is one
// `api.call` audit entry with the token as its actor: for a write, in the transaction of the
// write and of its idempotency record; for a read, committed before the answer is sent.
//
// NOTE: unlike the console's modules (ADR 015), this one speaks HTTP: it is the boundary of the
// service API as guard() is the console's, and its endpoints below it return plain values.

export type Errors = Record<string, string>;

/** An answer refused with a status and its field errors; thrown by endpoints and the checks. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: Errors,
    readonly headers: Record<string, string> = {},
  ) {
    super(Object.values(errors)[0] ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** What an endpoint answers: a status and a JSON value. */
export interface Answer {
  status: number;
  /** A JSON answer's body; or a file, streamed as it is read (a package download). */
  body: unknown;
  file?: { stream: ReadableStream<Uint8Array>; type: string; name: string; bytes: number };
  /** How many items a list holds (recorded in the call's audit entry). */
  items?: number;
  /** What the call was about, for its audit entry. */
  refs?: { privacyRequestId?: string; userId?: string };
}

export interface Call<P, Q, B, S> {
  actor: ServiceActor;
  params: P;
  query: Q;
  body: B;
  /** What `subject` found. */
  subject: S;
}

export interface EndpointSpec<P = unknown, Q = unknown, B = unknown, S = unknown> {
  /** The endpoint's code in the audit trail, e.g. `privacy-requests.create`. */
  endpoint: string;
  scope: Scope;
  /** The route's parameters; a bad one is the 404 `notFound` names. */
  params?: z.ZodType<P>;
  notFound?: { field: string; message: string };
  query?: z.ZodType<Q>;
  /** A POST's JSON body (an empty body reads as `{}`). */
  body?: z.ZodType<B>;
  /** Checks the input further (a 400 as an InputError), before any subject is read. */
  check?: (input: { query: Q; body: B }) => void;
  /** Reads what the call is about: throws a 404 (unknown) or a 410 (erased) as ApiError. */
  subject?: (input: { params: P; query: Q; body: B }) => Promise<S>;
  /** The work. A POST gets the transaction its idempotency record and audit entry commit in. */
  handle: (call: Call<P, Q, B, S>, tx: Tx | null) => Promise<Answer>;
}

type Args = {
  request: Request;
  params: Record<string, string | undefined>;
  context: AppLoadContext;
};

const MAX_BODY_BYTES = 64 * 1024;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      ...headers,
    },
  });
}

export function apiError(status: number, errors: Errors, headers: Record<string, string> = {}) {
  return json(status, { errors }, headers);
}

/** The domain's errors as the API's: InputError names its field; the others a default one. */
function asApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof InputError) return new ApiError(400, { [error.field]: error.message });
  if (error instanceof NotFoundError) return new ApiError(404, { id: error.message });
  if (error instanceof GoneError) return new ApiError(410, { userId: error.message });
  if (error instanceof ConflictError) return new ApiError(409, { state: error.message });
  if (error instanceof ForbiddenError) return new ApiError(403, { scope: error.message });
  return null;
}

function clientOf(context: AppLoadContext): Client {
  const address = (context as { clientAddress?: string }).clientAddress;
  const agent = (context as { userAgent?: string }).userAgent;
  return { address: address || null, userAgent: agent || null };
}

// --- the checks, in order --------------------------------------------------------------------

async function authenticate(request: Request, context: AppLoadContext) {
  const header = request.headers.get('authorization') ?? '';
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  const found = match ? await tokenActor(match[1]!, clientOf(context)) : null;
  if (!found) {
    throw new ApiError(
      401,
      {
        Authorization: match
          ? 'This token is not valid: unknown or revoked'
          : 'Send a service token: Authorization: Bearer cst_…',
      },
      { 'WWW-Authenticate': 'Bearer realm="custodian"' },
    );
  }
  return found;
}

/** A NUL or a lone surrogate anywhere in a JSON value (keys too): the dotted path and why. */
function unfitJson(value: unknown, path: string): { field: string; message: string } | null {
  const bad = (text: string) =>
    text.includes('\u0000')
      ? 'Must not contain a NUL character'
      : /\p{Cs}/u.test(text)
        ? 'Must be valid Unicode text (it holds a lone surrogate)'
        : null;
  if (typeof value === 'string') {
    const problem = bad(value);
    return problem ? { field: path || 'body', message: problem } : null;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = unfitJson(item, `${path}.${i}`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      const problem = bad(key);
      if (problem) return { field: path || 'body', message: `A key: ${problem.toLowerCase()}` };
      const found = unfitJson(item, at);
      if (found) return found;
    }
  }
  return null;
}

function zodErrors(error: z.ZodError, prefix: string | null): Errors {
  const errors: Errors = {};
  for (const issue of error.issues) {
    let path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0]!];
    const field = [prefix, ...path].filter(Boolean).join('.') || prefix || 'body';
    const message = issue.code === 'unrecognized_keys' ? `Not a field of this call` : issue.message;
    errors[field] ??= message;
  }
  return errors;
}

async function readBody(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type');
  if (type && !/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(400, { body: 'Send JSON (Content-Type: application/json)' });
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) {
    throw new ApiError(413, { body: `The body is larger than ${MAX_BODY_BYTES} bytes` });
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        throw new ApiError(413, { body: `The body is larger than ${MAX_BODY_BYTES} bytes` });
      }
      chunks.push(value);
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ApiError(400, { body: 'The body is not UTF-8 text' });
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, { body: 'The body is not valid JSON' });
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix: string | null): T {
  const unfit = unfitJson(value, prefix ?? '');
  if (unfit) throw new ApiError(400, { [unfit.field]: unfit.message });
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, zodErrors(parsed.error, prefix));
  return parsed.data;
}

// --- idempotency -----------------------------------------------------------------------------

/** What identifies a call for its Idempotency-Key: method, path and the body's canonical bytes. */
function callHash(request: Request, body: unknown): Buffer {
  const url = new URL(request.url);
  return createHash('sha256')
    .update(`${request.method} ${url.pathname}\n`)
    .update(canonicalBytes(body))
    .digest();
}

async function storedAnswer(tokenId: string, key: string) {
  const [row] = await getDb()
    .select({
      requestHash: apiIdempotency.requestHash,
      status: apiIdempotency.status,
      response: apiIdempotency.response,
    })
    .from(apiIdempotency)
    .where(and(eq(apiIdempotency.tokenId, tokenId), eq(apiIdempotency.key, key)));
  return row ?? null;
}

/** A unique violation, as the driver throws it or as drizzle wraps it (its `cause`). */
function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    if (typeof e !== 'object') return false;
    if ((e as { code?: string }).code === '23505') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

// --- the route ---------------------------------------------------------------------------------

async function run<P, Q, B, S>(
  spec: EndpointSpec<P, Q, B, S>,
  method: 'GET' | 'POST',
  { request, params, context }: Args,
): Promise<Response> {
  const { actor, scopes } = await authenticate(request, context);
  if (!scopes.has(spec.scope)) {
    throw new ApiError(403, { scope: `This token does not hold the ${spec.scope} scope` });
  }
  // 400: the route's parameters (a bad id names nothing that exists: 404), the query, the key,
  // the body.
  let routeParams = params as unknown as P;
  if (spec.params) {
    const parsed = spec.params.safeParse(params);
    if (!parsed.success) {
      const nf = spec.notFound ?? { field: 'id', message: 'Nothing has this id' };
      throw new ApiError(404, { [nf.field]: nf.message });
    }
    routeParams = parsed.data;
  }
  const errors: Errors = {};
  let query = undefined as Q;
  if (spec.query) {
    const raw = Object.fromEntries(new URL(request.url).searchParams);
    try {
      query = parseWith(spec.query, raw, null);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      Object.assign(errors, error.errors);
    }
  }
  let key: string | null = null;
  let body = undefined as B;
  let hash: Buffer | null = null;
  if (method === 'POST') {
    key = request.headers.get('idempotency-key');
    if (key === null) {
      errors['Idempotency-Key'] = 'Send an Idempotency-Key header (a UUID will do) with every POST';
    } else if (!IDEMPOTENCY_KEY.test(key)) {
      errors['Idempotency-Key'] = 'An Idempotency-Key is 1 to 200 visible ASCII characters';
    }
    const raw = await readBody(request);
    try {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new ApiError(400, { body: 'Send a JSON object' });
      }
      body = parseWith(spec.body ?? (emptyBody as unknown as z.ZodType<B>), raw, null);
      hash = callHash(request, raw);
    } catch (error) {
      const known = asApiError(error);
      if (!known || known.status !== 400) throw error;
      Object.assign(errors, known.errors);
    }
  }
  if (Object.keys(errors).length === 0 && spec.check) {
    try {
      spec.check({ query, body });
    } catch (error) {
      const known = asApiError(error);
      if (!known || known.status !== 400) throw error;
      Object.assign(errors, known.errors);
    }
  }
  if (Object.keys(errors).length > 0) throw new ApiError(400, errors);
  // 404 / 410: what the call is about.
  const subject = spec.subject
    ? await spec.subject({ params: routeParams, query, body })
    : (undefined as S);
  const call: Call<P, Q, B, S> = { actor, params: routeParams, query, body, subject };

  if (method === 'GET') {
    const answer = await spec.handle(call, null);
    // Audit, then show: the call's entry commits before the answer leaves.
    await recordAudit(actor, {
      action: 'api.call',
      outcome: 'allowed',
      ...auditRefs(answer),
      details: {
        endpoint: spec.endpoint,
        status: answer.status,
        ...(answer.items === undefined ? {} : { items: answer.items }),
      },
    });
    await touchToken(actor.tokenId);
    if (answer.file) {
      return new Response(answer.file.stream, {
        status: answer.status,
        headers: {
          'Content-Type': answer.file.type,
          'Content-Length': String(answer.file.bytes),
          'Content-Disposition': `attachment; filename="${answer.file.name}"`,
          'Cache-Control': 'no-store',
        },
      });
    }
    return json(answer.status, answer.body);
  }

  // 409, or the first answer again.
  const replay = async (): Promise<Response> => {
    const stored = await storedAnswer(actor.tokenId, key!);
    if (!stored) return json(500, { errors: { server: 'The first answer was not found' } });
    if (!stored.requestHash.equals(hash!)) {
      throw new ApiError(409, {
        'Idempotency-Key':
          'This key was used with another request: use a new key for a new request',
      });
    }
    await recordAudit(actor, {
      action: 'api.call',
      outcome: 'allowed',
      details: { endpoint: spec.endpoint, status: stored.status, replay: true },
    });
    await touchToken(actor.tokenId);
    return new Response(stored.response, {
      status: stored.status,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        'Idempotent-Replayed': 'true',
      },
    });
  };
  if (await storedAnswer(actor.tokenId, key!)) return replay();
  let answer: Answer;
  try {
    answer = await getDb().transaction(async (tx) => {
      const result = await spec.handle(call, tx);
      // A concurrent call with the same key waits here for the first to commit, then fails on
      // the key and is rolled back whole: it answers as a replay (or a 409) below.
      await tx.insert(apiIdempotency).values({
        tokenId: actor.tokenId,
        key: key!,
        requestHash: hash!,
        status: result.status,
        response: JSON.stringify(result.body),
        createdAt: now(),
      });
      await recordAudit(
        actor,
        {
          action: 'api.call',
          outcome: 'allowed',
          ...auditRefs(result),
          details: { endpoint: spec.endpoint, status: result.status },
        },
        tx,
      );
      return result;
    });
  } catch (error) {
    if (isUniqueViolation(error) && (await storedAnswer(actor.tokenId, key!))) return replay();
    throw error;
  }
  await touchToken(actor.tokenId);
  return json(answer.status, answer.body);
}

/** What an answer refers to, for the call's audit entry. */
function auditRefs(answer: Answer): { privacyRequestId?: string; userId?: string } {
  return answer.refs ?? {};
}

/** The body of a POST that takes none: nothing, or `{}`. */
const emptyBody = z.object({}).strict();

async function answerOf(work: () => Promise<Response>, endpoint: string): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    const known = asApiError(error);
    if (known) return apiError(known.status, known.errors, known.headers);
    process.stderr.write(
      `api: ${endpoint} failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return apiError(500, { server: 'The call failed; nothing was written. Try again later.' });
  }
}

function methodNotAllowed(allowed: string[]): Response {
  return apiError(
    405,
    { method: `This endpoint takes ${allowed.join(' or ')}` },
    { Allow: allowed.join(', ') },
  );
}

/** An endpoint, its types checked and then erased: what apiRoute() takes. */
export interface Endpoint {
  endpoint: string;
  run(method: 'GET' | 'POST', args: Args): Promise<Response>;
}

export function defineEndpoint<P, Q, B, S>(spec: EndpointSpec<P, Q, B, S>): Endpoint {
  return {
    endpoint: spec.endpoint,
    run: (method, args) => answerOf(() => run(spec, method, args), spec.endpoint),
  };
}

/**
 * A /api/v1 route's loader and action: GET (and HEAD) to `GET`, POST to `POST`, any other
 * method a JSON 405 with `Allow`.
 */
export function apiRoute(endpoints: { GET?: Endpoint; POST?: Endpoint }) {
  const allowed = [...(endpoints.GET ? ['GET'] : []), ...(endpoints.POST ? ['POST'] : [])];
  return {
    loader: (args: Args) =>
      endpoints.GET ? endpoints.GET.run('GET', args) : Promise.resolve(methodNotAllowed(allowed)),
    action: (args: Args) =>
      endpoints.POST && args.request.method === 'POST'
        ? endpoints.POST.run('POST', args)
        : Promise.resolve(methodNotAllowed(allowed)),
  };
}

/** The answer of an address under /api/v1 that no endpoint has. */
export function noSuchEndpoint(): Response {
  return apiError(404, { path: 'No endpoint of the service API has this address' });
}
