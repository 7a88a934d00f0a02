import { z } from 'zod';
import { PURPOSES } from '#app/modules/vocabulary.ts';
import {
  CHANNELS,
  DUE_FILTERS,
  HOLD_REASONS,
  OFFICER_MOVES,
  PROPOSALS,
  RECTIFIABLE_FIELDS,
  REGIMES,
  REQUEST_STATES,
  REQUEST_TYPES,
} from './vocabulary.ts';

// What a privacy request may say, from the service API or the staff intake form: one schema per
// type's details, so a field the type does not take is an error naming it.

const purposes = z
  .array(z.enum(PURPOSES, { message: `A purpose is one of ${PURPOSES.join(', ')}` }))
  .min(1, 'Name at least one purpose')
  .max(PURPOSES.length)
  .transform((list) => [...new Set(list)]);

const text = (max: number, what: string) =>
  z.string().trim().min(1, `${what} is required`).max(max, `${what} is at most ${max} characters`);

export const DetailsSchemas = {
  access: z.object({}).strict(),
  portability: z.object({}).strict(),
  erasure: z.object({}).strict(),
  rectification: z
    .object({
      changes: z
        .partialRecord(z.enum(RECTIFIABLE_FIELDS), text(500, 'A new value'))
        .refine((c) => Object.keys(c).length > 0, 'Name at least one field to change'),
    })
    .strict(),
  restriction: z.object({ purposes }).strict(),
  objection: z.object({ purposes, grounds: text(4_000, 'The grounds') }).strict(),
} as const;

export const NewRequestSchema = z.object({
  userId: z.uuid('Not a user id'),
  type: z.enum(REQUEST_TYPES, { message: `The type is one of ${REQUEST_TYPES.join(', ')}` }),
  details: z.unknown().optional(),
  channel: z.enum(CHANNELS).optional(),
});

export const QueueQuerySchema = z.object({
  state: z.enum([...REQUEST_STATES, 'open', 'all']).optional(),
  type: z.enum(REQUEST_TYPES).optional(),
  regime: z.enum(REGIMES).optional(),
  assignee: z.union([z.uuid('Not a staff id'), z.literal('me'), z.literal('none')]).optional(),
  due: z.enum(DUE_FILTERS).optional(),
  after: z.string().max(200, 'The page cursor is too long').optional(),
});

/** What the request page's forms send. */
export const RequestActionSchema = z.object({
  intent: z.enum([...OFFICER_MOVES, 'assign_me', 'unassign', 'extend', 'ask_grant'], {
    message: 'Choose an action',
  }),
  note: z.string().max(2_000, 'The note is at most 2000 characters').optional(),
  proposal: z.enum(PROPOSALS, { message: 'Propose an erasure or a denial' }).optional(),
  reason: z.enum(HOLD_REASONS, { message: 'Choose why the request is on hold' }).optional(),
});

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The metrics page's range: whole months, `YYYY-MM`, at most five years. */
export const MetricsQuerySchema = z
  .object({
    from: z.string().regex(MONTH, 'A month is written YYYY-MM').optional(),
    to: z.string().regex(MONTH, 'A month is written YYYY-MM').optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, {
    path: ['from'],
    message: 'The first month comes before the last',
  })
  .refine(
    (q) => {
      if (!q.from || !q.to) return true;
      const months = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7));
      return months(q.to) - months(q.from) < 60;
    },
    { path: ['to'], message: 'At most 60 months at a time' },
  );
