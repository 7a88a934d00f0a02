import { getPrivacyRequest } from '#app/modules/api/endpoints.server.ts';
import { apiRoute } from '#app/modules/api/http.server.ts';
import { serviceToken } from '#app/modules/auth/access.ts';

// GET /api/v1/privacy-requests/:id: where a request stands (ADR 023).
export const access = serviceToken('privacy-requests:read');

export const { loader, action } = apiRoute({ GET: getPrivacyRequest });
