import { z } from 'zod';
import { LookupQuerySchema } from '#app/modules/users/input.server.ts';
import type { LookupQuery } from '#app/modules/users/lookup.ts';
import { PURPOSES } from '#app/modules/vocabulary.ts';
import { unfitText } from '#app/utils/forms.server.ts';
import {
  LEGAL_BASES,
  MAX_ROWS,
  RECIPIENT_KINDS,
  ROW_FIELDS,
  rowField,
  type ProcessingRecord,
  type RowSection,
} from './record.ts';
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

// --- the record of processing (/privacy/record, ADR 036) -----------------------------------------

const recordText = (max: number, what: string) =>
  z
    .string(`${what} is required`)
    .trim()
    .min(1, `${what} is required`)
    .max(max, `${what} is at most ${max} characters`);

const RecordRowSchemas = {
  purposes: z.object({
    name: recordText(120, 'The purpose'),
    legalBasis: z.enum(LEGAL_BASES, {
      message: `The legal basis is one of ${LEGAL_BASES.join(', ')}`,
    }),
    description: recordText(1_000, 'What the user is told'),
  }),
  categories: z.object({
    name: recordText(120, 'The category'),
    description: recordText(1_000, 'What it holds'),
    retention: recordText(1_000, 'The retention'),
    // A retention policy's category, or none; that it exists is checked where the record is saved.
    policy: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .regex(/^[a-z_]{1,40}$/, 'Choose one of the listed retention policies')
        .optional(),
    ),
  }),
  recipients: z.object({
    name: recordText(120, 'The recipient'),
    kind: z.enum(RECIPIENT_KINDS, {
      message: `The kind is one of ${RECIPIENT_KINDS.join(', ')}`,
    }),
    agreement: recordText(500, 'The agreement'),
    receives: recordText(1_000, 'What they receive'),
    transfers: recordText(500, 'The transfers (or “None”)'),
  }),
} as const;

/** The whole record, as stored: what a version read back must be (a guard against a bad row). */
export const ProcessingRecordSchema = z
  .object({
    purposes: z.array(RecordRowSchemas.purposes.strict()).min(1).max(MAX_ROWS),
    categories: z.array(RecordRowSchemas.categories.strict()).min(1).max(MAX_ROWS),
    recipients: z.array(RecordRowSchemas.recipients.strict()).max(MAX_ROWS),
    sources: z.array(recordText(1_000, 'A line')).min(1).max(MAX_ROWS),
    rights: z.array(recordText(1_000, 'A line')).min(1).max(MAX_ROWS),
  })
  .strict();

const ROW_KEY = /^(purposes|categories|recipients)\.(\d{1,3})\.([A-Za-z]{1,20})$/;
const MAX_FORM_ROW = MAX_ROWS + 10;

/**
 * The record's edit form: `baseVersion` (the version the form was opened on), each row's fields
 * as `<section>.<index>.<field>` (a row with every field blank, or with `remove` ticked, is left
 * out), and `sources` and `rights` one line each. Every error names the field it is about; nothing
 * is returned unless the whole record is valid.
 */
export function parseRecordForm(
  form: Record<string, unknown>,
):
  | { ok: true; baseVersion: number; record: ProcessingRecord }
  | { ok: false; fieldErrors: Record<string, string> } {
  const unfit = unfitText(form);
  if (unfit) return { ok: false, fieldErrors: { [unfit.field]: unfit.message } };
  const fieldErrors: Record<string, string> = {};
  const baseVersion = z.coerce
    .number('The version is a number')
    .int('The version is a whole number')
    .min(1)
    .max(2 ** 31 - 1)
    .safeParse(typeof form.baseVersion === 'string' ? form.baseVersion : undefined);
  if (!baseVersion.success)
    fieldErrors.baseVersion = 'The version the form was opened on is missing';
  const rows: Record<RowSection, Map<number, Record<string, unknown>>> = {
    purposes: new Map(),
    categories: new Map(),
    recipients: new Map(),
  };
  for (const [key, value] of Object.entries(form)) {
    const match = ROW_KEY.exec(key);
    if (!match) continue;
    const section = match[1] as RowSection;
    const index = Number(match[2]);
    const field = match[3]!;
    if (index >= MAX_FORM_ROW) {
      fieldErrors[key] ??= `At most ${MAX_ROWS} rows`;
      continue;
    }
    if (field !== 'remove' && !(ROW_FIELDS[section] as readonly string[]).includes(field)) {
      fieldErrors[key] ??= `A ${section} row has no field ${field}`;
      continue;
    }
    if (typeof value !== 'string') {
      fieldErrors[key] ??= 'Must be text';
      continue;
    }
    const row = rows[section].get(index) ?? {};
    row[field] = value;
    rows[section].set(index, row);
  }
  const record: Partial<Record<RowSection, unknown[]>> = {};
  for (const section of Object.keys(rows) as RowSection[]) {
    const kept: unknown[] = [];
    const names = new Map<string, number>();
    for (const [index, row] of [...rows[section]].sort((a, b) => a[0] - b[0])) {
      if (row.remove === 'on' || row.remove === 'true') continue;
      const fields = ROW_FIELDS[section] as readonly string[];
      if (fields.every((f) => typeof row[f] !== 'string' || row[f].trim() === '')) {
        continue;
      }
      const values = Object.fromEntries(fields.map((f) => [f, row[f] ?? '']));
      const parsed = RecordRowSchemas[section].safeParse(values);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          fieldErrors[rowField(section, index, String(issue.path[0]))] ??= issue.message;
        }
        continue;
      }
      const name = parsed.data.name.toLowerCase();
      if (names.has(name)) {
        fieldErrors[rowField(section, index, 'name')] ??=
          `Row ${names.get(name)! + 1} has this name`;
        continue;
      }
      names.set(name, index);
      kept.push(parsed.data);
    }
    if (kept.length > MAX_ROWS) fieldErrors[section] ??= `At most ${MAX_ROWS} rows`;
    if (kept.length === 0 && section !== 'recipients') {
      fieldErrors[section] ??= `The record needs at least one row of ${section}`;
    }
    record[section] = kept;
  }
  const lines = (field: 'sources' | 'rights') => {
    const raw = form[field];
    if (typeof raw !== 'string') {
      fieldErrors[field] ??= 'Write one line per item';
      return [];
    }
    const list = raw
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (list.length === 0) fieldErrors[field] ??= 'Write at least one line';
    if (list.length > MAX_ROWS) fieldErrors[field] ??= `At most ${MAX_ROWS} lines`;
    const long = list.findIndex((l) => l.length > 1_000);
    if (long >= 0) fieldErrors[field] ??= `Line ${long + 1} is longer than 1000 characters`;
    return list;
  };
  const sources = lines('sources');
  const rights = lines('rights');
  if (Object.keys(fieldErrors).length > 0 || !baseVersion.success) {
    return { ok: false, fieldErrors };
  }
  return {
    ok: true,
    baseVersion: baseVersion.data,
    record: {
      purposes: record.purposes as ProcessingRecord['purposes'],
      categories: record.categories as ProcessingRecord['categories'],
      recipients: record.recipients as ProcessingRecord['recipients'],
      sources,
      rights,
    },
  };
}

/** The record page's address: `version` (an older version to read), `edit` (the form). */
export const RecordQuerySchema = z.object({
  version: z.coerce
    .number('The version is a number')
    .int('The version is a whole number')
    .min(1, 'The version is at least 1')
    .max(2 ** 31 - 1, 'No such version')
    .optional(),
  edit: z.enum(['1'], { message: 'edit is 1 or absent' }).optional(),
  saved: z.coerce
    .number('saved is a version number')
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .optional(),
});
