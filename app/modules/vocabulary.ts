// The fixed vocabularies of Custodian, in one place. The database enums and check constraints in
// app/db/schema.ts are built from these lists; nothing else spells them out.

export const PLANS = ['free', 'plus', 'pro', 'team', 'enterprise'] as const;
export const MODELS = ['orca-mini', 'orca-1', 'orca-2', 'orca-2-vision', 'orca-reasoner'] as const;
export const USER_STATUSES = ['active', 'suspended', 'closed'] as const;
export const MESSAGE_ROLES = ['user', 'assistant', 'system'] as const;
export const PAYMENT_PROVIDERS = ['stripe', 'paypal'] as const;
export const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover', 'jcb', 'unionpay'] as const;
export const USAGE_KINDS = [
  'session_start',
  'conversation_start',
  'message',
  'file_upload',
  'voice_input',
] as const;
export const PURPOSES = ['training', 'analytics', 'personalization', 'marketing'] as const;
export const PREFERENCE_SOURCES = ['user', 'privacy_request', 'default', 'import'] as const;
export const DATA_CATEGORIES = [
  'profile',
  'conversations',
  'payments',
  'usage',
  'preferences',
  // A user's support inquiries and their threads (issue 15): opened only by a grant bound to one
  // inquiry (its assignment) or by break-glass, never by an ordinary request.
  'inquiries',
] as const;
/**
 * The categories an ordinary grant request may name and the user pages show. An inquiry's thread
 * opens through a grant bound to that inquiry (its assignment, ADR 034), never through these.
 */
export const REQUESTABLE_CATEGORIES = DATA_CATEGORIES.filter(
  (c): c is Exclude<(typeof DATA_CATEGORIES)[number], 'inquiries'> => c !== 'inquiries',
);
export const REASON_CODES = [
  'support_inquiry',
  'privacy_request',
  'security_investigation',
  'legal',
  'other',
] as const;
export const STAFF_STATUSES = ['active', 'disabled'] as const;
export const LOCALES = [
  'en-US',
  'en-GB',
  'de-DE',
  'fr-FR',
  'es-ES',
  'pt-BR',
  'ja-JP',
  'ko-KR',
  'hi-IN',
  'ar-EG',
  'he-IL',
  'zh-CN',
  'it-IT',
  'nl-NL',
  'pl-PL',
  'sv-SE',
  'tr-TR',
] as const;

// ISO 3166-1 alpha-2 codes of the countries the service operates in.
export const COUNTRIES = [
  'US', 'CA', 'MX', 'BR', 'AR', 'CL', 'CO', 'GB', 'IE', 'FR', 'DE', 'NL', 'BE', 'ES', 'PT', 'IT',
  'CH', 'AT', 'SE', 'NO', 'DK', 'FI', 'PL', 'CZ', 'RO', 'GR', 'TR', 'IL', 'EG', 'NG', 'KE', 'ZA',
  'AE', 'SA', 'IN', 'PK', 'BD', 'ID', 'PH', 'VN', 'TH', 'MY', 'SG', 'JP', 'KR', 'CN', 'TW', 'AU',
  'NZ', 'UA',
] as const; // prettier-ignore

export type Plan = (typeof PLANS)[number];
export type Model = (typeof MODELS)[number];
export type UserStatus = (typeof USER_STATUSES)[number];
export type MessageRole = (typeof MESSAGE_ROLES)[number];
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];
export type CardBrand = (typeof CARD_BRANDS)[number];
export type UsageKind = (typeof USAGE_KINDS)[number];
export type Purpose = (typeof PURPOSES)[number];
export type DataCategory = (typeof DATA_CATEGORIES)[number];
export type RequestableCategory = (typeof REQUESTABLE_CATEGORIES)[number];
export type ReasonCode = (typeof REASON_CODES)[number];
export type Country = (typeof COUNTRIES)[number];
export type Locale = (typeof LOCALES)[number];

/**
 * What a service-API token may do (ADR 023): one scope per kind of call the product makes. A new
 * one (`inquiries:write`) is one more entry here and a route that asks for it; the database's
 * check on console.service_tokens is generated from this list by the next migration.
 */
export const SCOPES = [
  'privacy-requests:write',
  'privacy-requests:read',
  'access-history:read',
  'inquiries:write',
] as const;
export type Scope = (typeof SCOPES)[number];
