import { z } from 'zod';
import { checkHistoryCursor, userAccessHistory } from '#app/modules/access/history.server.ts';
import { isErased } from '#app/modules/privacy/erasure.server.ts';
import { openExportPackage } from '#app/modules/privacy/package.server.ts';
import {
  checkNewRequest,
  createRequest,
  moveRequest,
  requestStatus,
  type RequestStatus,
} from '#app/modules/privacy/requests.server.ts';
import { REQUEST_TYPES } from '#app/modules/privacy/vocabulary.ts';
import { createInquiry, userOfEmail } from '#app/modules/inquiries/inquiries.server.ts';
import { NewInquiryBody } from '#app/modules/inquiries/input.server.ts';
import { userFacts } from '#app/modules/users/data.server.ts';
import { GoneError } from '#app/utils/errors.ts';
import { ApiError, defineEndpoint } from './http.server.ts';

// The endpoints of the service API v1 (ADR 023, README "Service API"): each one's scope, input,
// subject and work; apiRoute() runs the checks around them in the one order.

/** A request's deadline as an instant: the end of its due day, UTC (ADR 022). */
const endOfDay = (day: string) => `${day}T23:59:59.999Z`;

/**
 * The user a call is about, alive: 410 when erased (their tombstone, whether or not a row is
 * left), else 404 when no user has the id.
 */
async function requireLiveUser(userId: string): Promise<void> {
  // NOTE: the 410 check. isErased() reads the erasure's tombstones (privacy/erasure.server.ts).
  if (await isErased(userId)) throw new ApiError(410, { userId: 'This user was erased' });
  if (!(await userFacts(userId))) throw new ApiError(404, { userId: 'No user has this id' });
}

const NO_REQUEST = { field: 'id', message: 'No privacy request has this id' };

async function requireRequest(id: string): Promise<RequestStatus> {
  const found = await requestStatus(id);
  if (!found) throw new ApiError(404, { [NO_REQUEST.field]: NO_REQUEST.message });
  return found;
}

/** A request as the product sees it (GET /api/v1/privacy-requests/:id). */
function statusView(r: RequestStatus) {
  return {
    id: r.id,
    type: r.type,
    state: r.state,
    verified: r.verified,
    receivedAt: r.receivedAt.toISOString(),
    dueAt: endOfDay(r.dueDay),
    ...(r.extendedDueDay ? { extendedDueAt: endOfDay(r.extendedDueDay) } : {}),
    ...(r.completedAt ? { completedAt: r.completedAt.toISOString() } : {}),
    progress: r.progress,
  };
}

const RequestParams = z.object({ id: z.uuid() });

const NewRequestBody = z
  .object({
    userId: z.uuid('Not a user id (a UUID)'),
    type: z.enum(REQUEST_TYPES, { message: `The type is one of ${REQUEST_TYPES.join(', ')}` }),
    details: z.unknown().optional(),
  })
  .strict();

export const createPrivacyRequest = defineEndpoint({
  endpoint: 'privacy-requests.create',
  scope: 'privacy-requests:write',
  body: NewRequestBody,
  check: ({ body }) => checkNewRequest(body),
  subject: ({ body }) => requireLiveUser(body.userId),
  handle: async ({ actor, body }, tx) => {
    // The product's signed-in user asked: createRequest() counts it as identity-verified.
    const created = await createRequest(body, actor, { tx: tx ?? undefined });
    return {
      status: 201,
      body: {
        id: created.id,
        state: created.state,
        type: created.type,
        verified: created.verified,
        dueAt: endOfDay(created.dueDay),
      },
      refs: { privacyRequestId: created.id, userId: body.userId },
    };
  },
});

export const getPrivacyRequest = defineEndpoint({
  endpoint: 'privacy-requests.get',
  scope: 'privacy-requests:read',
  params: RequestParams,
  notFound: NO_REQUEST,
  // NOTE: no 410 here. The request is the record the law keeps after an erasure (ADR 022), and
  // the product asks it whether the erasure it filed is complete.
  subject: ({ params }) => requireRequest(params.id),
  handle: async ({ subject }) =>
    Promise.resolve({
      status: 200,
      body: statusView(subject),
      refs: { privacyRequestId: subject.id, userId: subject.userId },
    }),
});

export const exportOfPrivacyRequest = defineEndpoint({
  endpoint: 'privacy-requests.export',
  scope: 'privacy-requests:read',
  params: RequestParams,
  notFound: NO_REQUEST,
  subject: ({ params }) => requireRequest(params.id),
  // 404 until the package is ready (another type, or not completed yet); 410 once it expired
  // or the user was erased. The download itself is audited as `privacy.download` (via: api).
  handle: async ({ actor, subject }) => {
    if (subject.type !== 'access' && subject.type !== 'portability') {
      throw new ApiError(404, { id: 'Only an access or portability request has a package' });
    }
    if (await isErased(subject.userId)) {
      throw new ApiError(410, { userId: 'This user was erased, and their packages with them' });
    }
    if (subject.state !== 'completed') {
      throw new ApiError(404, { id: 'The package is ready once the request is completed' });
    }
    try {
      const pkg = await openExportPackage(subject.id, actor);
      return {
        status: 200,
        body: null,
        file: { stream: pkg.stream, type: 'application/zip', name: pkg.fileName, bytes: pkg.bytes },
        refs: { privacyRequestId: subject.id, userId: subject.userId },
      };
    } catch (error) {
      if (error instanceof GoneError) throw new ApiError(410, { id: error.message });
      throw error;
    }
  },
});

export const verifyPrivacyRequest = defineEndpoint({
  endpoint: 'privacy-requests.verify',
  scope: 'privacy-requests:write',
  params: RequestParams,
  notFound: NO_REQUEST,
  subject: async ({ params }) => {
    const request = await requireRequest(params.id);
    if (await isErased(request.userId)) {
      throw new ApiError(410, { userId: 'This user was erased' });
    }
    return request;
  },
  handle: async ({ actor, subject }, tx) => {
    // The account's owner signed in to the product and confirmed a request staff entered:
    // verifying → received, recorded as the product's confirmation, not staff evidence.
    await moveRequest(
      subject.id,
      { kind: 'verify', method: 'product_confirmation' },
      actor,
      tx ? { tx } : {},
    );
    const after = (await requestStatus(subject.id, tx ?? undefined))!;
    return {
      status: 200,
      body: statusView(after),
      refs: { privacyRequestId: subject.id, userId: subject.userId },
    };
  },
});

const HistoryQuery = z.object({
  after: z.string().max(200, 'The page cursor is too long').optional(),
  limit: z.coerce
    .number('A whole number from 1 to 100')
    .int('A whole number from 1 to 100')
    .min(1, 'A whole number from 1 to 100')
    .max(100, 'A whole number from 1 to 100')
    .optional(),
});

export const accessHistory = defineEndpoint({
  endpoint: 'users.access-history',
  scope: 'access-history:read',
  params: z.object({ id: z.uuid() }),
  notFound: { field: 'userId', message: 'No user has this id' },
  query: HistoryQuery,
  check: ({ query }) => checkHistoryCursor(query.after),
  subject: ({ params }) => requireLiveUser(params.id),
  handle: async ({ params, query }) => {
    const page = await userAccessHistory(params.id, { after: query.after, limit: query.limit });
    return { status: 200, body: page, items: page.items.length, refs: { userId: params.id } };
  },
});

/**
 * POST /api/v1/inquiries: the product files its user's support inquiry (ADR 034). The user by id
 * or by email: an email that matches nobody is a 404 naming `email`. Subject and body are sealed
 * under the user's key; the idempotency record keeps a hash of the body, never the body.
 */
export const createInquiryEndpoint = defineEndpoint({
  endpoint: 'inquiries.create',
  scope: 'inquiries:write',
  body: NewInquiryBody,
  subject: async ({ body }) => {
    if (body.userId) {
      await requireLiveUser(body.userId);
      return body.userId;
    }
    const userId = await userOfEmail(body.email!).catch(() => null);
    if (!userId) throw new ApiError(404, { email: 'No user has this email' });
    if (await isErased(userId)) throw new ApiError(410, { email: 'This user was erased' });
    return userId;
  },
  handle: async ({ actor, body, subject: userId }, tx) => {
    const created = await createInquiry(
      { userId, subject: body.subject, body: body.body, category: body.category },
      actor,
      { tx: tx ?? undefined },
    );
    return {
      status: 201,
      body: {
        id: created.id,
        state: created.state,
        dueAt: created.firstResponseDueAt.toISOString(),
      },
      refs: { userId },
    };
  },
});
