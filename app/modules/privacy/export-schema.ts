import {
  CARD_BRANDS,
  MESSAGE_ROLES,
  MODELS,
  PAYMENT_PROVIDERS,
  PLANS,
  PREFERENCE_SOURCES,
  PURPOSES,
  USAGE_KINDS,
  USER_STATUSES,
} from '#app/modules/vocabulary.ts';
import { REGIMES, REQUEST_STATES, REQUEST_TYPES } from './vocabulary.ts';

// The JSON Schema of an access or portability package's data.json: shipped in every package as
// data.schema.json and published as docs/export-schema.json (a test keeps the two equal). Built
// from the vocabularies, so a new plan or purpose changes the schema with the code.

export const EXPORT_FORMAT = 'custodian-export/1';

const timestamp = { type: 'string', format: 'date-time' } as const;
const day = { type: 'string', format: 'date' } as const;
const uuid = { type: 'string', format: 'uuid' } as const;
const oneOf = (values: readonly string[]) => ({ type: 'string', enum: [...values] }) as const;
const object = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

const message = object({
  id: uuid,
  role: oneOf(MESSAGE_ROLES),
  content: { type: 'string' },
  tokenCount: { type: 'integer', minimum: 0 },
  createdAt: timestamp,
});

export const conversationSchema = object({
  id: uuid,
  title: { type: 'string' },
  model: oneOf(MODELS),
  createdAt: timestamp,
  updatedAt: timestamp,
  messages: { type: 'array', items: { $ref: '#/$defs/message' } },
});

export const EXPORT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://custodian.local/schemas/export/1/data.schema.json',
  title: 'Custodian access and portability package: data.json',
  description:
    'Everything the service holds about one user, as of the moment the package was made. Card numbers typed into conversations are replaced by "[card number redacted]".',
  ...object({
    format: { const: EXPORT_FORMAT },
    generatedAt: timestamp,
    request: object({ id: uuid, type: oneOf(['access', 'portability']) }),
    profile: object({
      id: uuid,
      displayName: { type: 'string' },
      email: { type: 'string' },
      phone: { type: ['string', 'null'] },
      country: { type: 'string', pattern: '^[A-Z]{2}$' },
      locale: { type: 'string' },
      plan: oneOf(PLANS),
      status: oneOf(USER_STATUSES),
      createdAt: timestamp,
      lastActiveAt: { anyOf: [timestamp, { type: 'null' }] },
    }),
    conversations: { type: 'array', items: { $ref: '#/$defs/conversation' } },
    payments: {
      type: 'array',
      items: object({
        id: uuid,
        provider: oneOf(PAYMENT_PROVIDERS),
        cardBrand: oneOf(CARD_BRANDS),
        last4: { type: 'string', pattern: '^[0-9]{4}$' },
        expMonth: { type: 'integer', minimum: 1, maximum: 12 },
        expYear: { type: 'integer' },
        createdAt: timestamp,
      }),
    },
    usageEvents: {
      type: 'array',
      items: object({
        id: uuid,
        kind: oneOf(USAGE_KINDS),
        model: { anyOf: [oneOf(MODELS), { type: 'null' }] },
        tokens: { type: 'integer', minimum: 0 },
        country: { type: 'string' },
        occurredAt: timestamp,
      }),
    },
    preferences: object({
      current: {
        type: 'array',
        items: object({
          purpose: oneOf(PURPOSES),
          allowed: { type: 'boolean' },
          updatedAt: timestamp,
        }),
      },
      history: {
        type: 'array',
        items: object({
          id: uuid,
          purpose: oneOf(PURPOSES),
          allowed: { type: 'boolean' },
          source: oneOf(PREFERENCE_SOURCES),
          changedAt: timestamp,
        }),
      },
    }),
    privacyRequests: {
      type: 'array',
      items: object({
        id: uuid,
        type: oneOf(REQUEST_TYPES),
        state: oneOf(REQUEST_STATES),
        regime: oneOf(REGIMES),
        receivedAt: timestamp,
        dueDay: day,
        completedAt: { anyOf: [timestamp, { type: 'null' }] },
        purposes: { type: 'array', items: oneOf(PURPOSES) },
      }),
    },
  }),
  $defs: { conversation: conversationSchema, message },
};

/** The schema's text as shipped (data.schema.json) and published (docs/export-schema.json). */
export function exportSchemaText(): string {
  return `${JSON.stringify(EXPORT_SCHEMA, null, 2)}\n`;
}
