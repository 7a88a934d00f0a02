import { accessHistory } from '#app/modules/api/endpoints.server.ts';
import { apiRoute } from '#app/modules/api/http.server.ts';
import { serviceToken } from '#app/modules/auth/access.ts';

// GET /api/v1/users/:id/access-history: staff access to the user's data, without staff
// identities, for the product to show its signed-in user (ADR 023).
export const access = serviceToken('access-history:read');

export const { loader, action } = apiRoute({ GET: accessHistory });
