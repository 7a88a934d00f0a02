import { createInquiryEndpoint } from '#app/modules/api/endpoints.server.ts';
import { apiRoute } from '#app/modules/api/http.server.ts';
import { serviceToken } from '#app/modules/auth/access.ts';

// POST /api/v1/inquiries: the product files its user's support inquiry (ADR 034).
export const access = serviceToken('inquiries:write');

export const { loader, action } = apiRoute({ POST: createInquiryEndpoint });
