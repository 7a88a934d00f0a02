import { z } from 'zod';

// The input of the sharing pages (ADR 037), parsed here so routes hold no zod.

/** The most releases one share may hand over (a year and a month of days, or so). */
export const MAX_SHARED_RELEASES = 400;

/** POST /analytics/shares/new: a recipient of the record of processing and stored releases. */
export const ShareFormSchema = z.object({
  recipient: z
    .string({ error: 'Choose a recipient' })
    .trim()
    .min(1, 'Choose a recipient')
    .max(120, 'A recipient of the record of processing is named in at most 120 characters'),
  release: z
    .array(z.uuid({ error: 'Choose released figures from the list (a release id)' }), {
      error: 'Choose at least one release',
    })
    .min(1, 'Choose at least one release')
    .max(MAX_SHARED_RELEASES, `A share holds at most ${MAX_SHARED_RELEASES} releases`)
    .transform((ids) => [...new Set(ids.map((id) => id.toLowerCase()))]),
});
export type ShareForm = z.infer<typeof ShareFormSchema>;

export const SHARE_SORTS = ['shared', 'recipient'] as const;
export type ShareSort = (typeof SHARE_SORTS)[number];

/** GET /analytics/shares: the sharing log's order and page. */
export const SharesQuerySchema = z.object({
  sort: z.enum(SHARE_SORTS, { error: 'Sort by shared or recipient' }).default('shared'),
  dir: z.enum(['asc', 'desc'], { error: 'Order asc or desc' }).default('desc'),
  after: z.string().max(2_000, 'The page cursor is too long').optional(),
});

/** GET /analytics/shares/new: the share just made, to offer its CSV. */
export const ShareNewQuerySchema = z.object({
  shared: z.uuid({ error: 'Not a share' }).optional(),
});

/** The share in the address (/analytics/shares/:shareId/csv). */
export const ShareIdSchema = z.object({ shareId: z.uuid({ error: 'Not a share' }) });
