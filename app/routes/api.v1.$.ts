import { noSuchEndpoint } from '#app/modules/api/http.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';

// Any other address under /api/v1: a JSON 404 for every method and caller, never the console's
// HTML page (ADR 023).
export const access = publicAccess;

export const loader = () => noSuchEndpoint();
export const action = () => noSuchEndpoint();
