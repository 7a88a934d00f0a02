import { exportOfPrivacyRequest } from '#app/modules/api/endpoints.server.ts';
import { apiRoute } from '#app/modules/api/http.server.ts';
import { serviceToken } from '#app/modules/auth/access.ts';

// GET /api/v1/privacy-requests/:id/export: the package of a completed access or portability
// request, streamed for the product to hand to its user (ADR 023, ADR 025).
export const access = serviceToken('privacy-requests:read');

export const { loader, action } = apiRoute({ GET: exportOfPrivacyRequest });
