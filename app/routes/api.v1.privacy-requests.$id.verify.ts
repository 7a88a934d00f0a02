import { verifyPrivacyRequest } from '#app/modules/api/endpoints.server.ts';
import { apiRoute } from '#app/modules/api/http.server.ts';
import { serviceToken } from '#app/modules/auth/access.ts';

// POST /api/v1/privacy-requests/:id/verify: the account's owner confirmed, in the product, a
// request that staff entered (ADR 023).
export const access = serviceToken('privacy-requests:write');

export const { loader, action } = apiRoute({ POST: verifyPrivacyRequest });
