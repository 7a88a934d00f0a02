// Shared with the browser (route modules build their zod schemas at load time): no server code.
export const STAFF_SORTS = ['name', 'email', 'created'] as const;
export type StaffSort = (typeof STAFF_SORTS)[number];
