import { createPrivacyRequest } from '#app/modules/api/endpoints.server.ts';
import { apiRoute } from '#app/modules/api/http.server.ts';
import { serviceToken } from '#app/modules/auth/access.ts';

// POST /api/v1/privacy-requests: the product files its signed-in user's request (ADR 023).
export const access = serviceToken('privacy-requests:write');

export const { loader, action } = apiRoute({ POST: createPrivacyRequest });
