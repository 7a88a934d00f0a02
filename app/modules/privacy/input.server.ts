import { z } from 'zod';
import { LookupQuerySchema } from '#app/modules/users/input.server.ts';
import type { LookupQuery } from '#app/modules/users/lookup.ts';
import { PURPOSES } from '#app/modules/vocabulary.ts';
import {
  CHANNELS,
  DUE_FILTERS,
  HOLD_REASONS,
  INTAKE_DETAIL_FIELDS,
  OFFICER_MOVES,
  PROPOSALS,
  RECTIFIABLE_FIELDS,
  REGIMES,
  REQUEST_STATES,
  REQUEST_TYPES,
  VERIFICATION_METHODS,
  type Channel,
  type RequestType,
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

// --- the staff intake form (/privacy/new) ------------------------------------------------------

const optionalText = z.string().max(4_000, 'At most 4000 characters').optional();

/**
 * The intake form: who (an exact user id or email, found as the lookup finds them), what type, how
 * it arrived, and the type's details. Fields another type takes are refused when filled (rather
 * than silently dropped), and the details are checked with the type's own schema, so every error
 * names its field before anything is looked up or written.
 */
export const IntakeFormSchema = z
  .object({
    user: z
      .string('Enter the user’s exact id or email address')
      .max(320, 'At most 320 characters')
      .transform((value, ctx): LookupQuery => {
        const lookup = LookupQuerySchema.safeParse({ q: value });
        const query = lookup.success ? lookup.data.q : null;
        if (query) return query;
        ctx.addIssue({
          code: 'custom',
          message: lookup.success
            ? 'Enter the user’s exact id or email address'
            : lookup.error.issues[0]!.message,
        });
        return z.NEVER;
      }),
    type: z.enum(REQUEST_TYPES, { message: 'Choose the type of request' }),
    channel: z.enum(CHANNELS, { message: 'Say how the request was received' }),
    [INTAKE_DETAIL_FIELDS.grounds]: optionalText,
    [INTAKE_DETAIL_FIELDS.purposes]: z
      .array(z.string().max(64, 'Not a purpose'))
      .max(16)
      .optional(),
    ...Object.fromEntries(
      RECTIFIABLE_FIELDS.map((f) => [INTAKE_DETAIL_FIELDS.change(f), optionalText]),
    ),
  })
  .transform((form, ctx) => {
    const query = form.user as LookupQuery;
    const type = form.type as RequestType;
    // An empty input is one the officer left alone; anything else (even blanks) was typed, and
    // is checked, so an error names the field it was typed into.
    const text = (name: string) => {
      const value = (form as Record<string, unknown>)[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const changes = Object.fromEntries(
      RECTIFIABLE_FIELDS.flatMap((f) => {
        const value = text(INTAKE_DETAIL_FIELDS.change(f));
        return value === undefined ? [] : [[f, value]];
      }),
    );
    const purposes = (form[INTAKE_DETAIL_FIELDS.purposes] as string[] | undefined) ?? [];
    const grounds = text(INTAKE_DETAIL_FIELDS.grounds);
    const takes = {
      changes: type === 'rectification',
      purposes: type === 'restriction' || type === 'objection',
      grounds: type === 'objection',
    };
    const refuse = (field: string, what: string) =>
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `${TYPE_NAMES[type]} request takes no ${what}: clear it or choose another type`,
      });
    for (const f of RECTIFIABLE_FIELDS) {
      if (!takes.changes && text(INTAKE_DETAIL_FIELDS.change(f)) !== undefined) {
        refuse(INTAKE_DETAIL_FIELDS.change(f), 'changes');
      }
    }
    if (!takes.purposes && purposes.length) refuse(INTAKE_DETAIL_FIELDS.purposes, 'purposes');
    if (!takes.grounds && grounds !== undefined) refuse(INTAKE_DETAIL_FIELDS.grounds, 'grounds');
    const details = {
      ...(takes.changes ? { changes } : {}),
      ...(takes.purposes ? { purposes } : {}),
      ...(takes.grounds ? { grounds: grounds ?? '' } : {}),
    };
    const checked = DetailsSchemas[type].safeParse(details);
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const [head, key] = issue.path.map(String);
        ctx.addIssue({
          code: 'custom',
          path: [head === 'changes' && key ? `details.changes.${key}` : `details.${head ?? ''}`],
          message: issue.message,
        });
      }
    }
    if (!checked.success) return z.NEVER;
    return { query, type, channel: form.channel as Channel, details: checked.data };
  });

const TYPE_NAMES: Record<RequestType, string> = {
  access: 'An access',
  portability: 'A portability',
  rectification: 'A rectification',
  erasure: 'An erasure',
  restriction: 'A restriction',
  objection: 'An objection',
};

/** What the request page's forms send. */
export const RequestActionSchema = z.object({
  intent: z.enum(
    [...OFFICER_MOVES, 'assign_me', 'unassign', 'extend', 'set_hold', 'lift_hold', 'ask_grant'],
    {
      message: 'Choose an action',
    },
  ),
  note: z.string().max(2_000, 'The note is at most 2000 characters').optional(),
  proposal: z.enum(PROPOSALS, { message: 'Propose an erasure or a denial' }).optional(),
  reason: z.enum(HOLD_REASONS, { message: 'Choose why the request is on hold' }).optional(),
  method: z
    .enum(VERIFICATION_METHODS, { message: 'Choose how the identity was verified' })
    .optional(),
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
