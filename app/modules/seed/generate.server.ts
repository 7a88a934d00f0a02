import { encryptField, newDataKey, wrapDataKey } from '#app/modules/crypto/envelope.server.ts';
import type { VersionedKey } from '#app/modules/crypto/keys.server.ts';
import {
  PURPOSES,
  type CardBrand,
  type Country,
  type Locale,
  type Model,
  type Plan,
  type Purpose,
  type UserStatus,
} from '#app/modules/vocabulary.ts';
import { CopyWriter, type SeedTable } from './copy.ts';
import {
  APOSTROPHE_NAMES,
  COUNTRY_CULTURES,
  CULTURES,
  GLOBAL_CULTURES,
  IMMIGRANT_SHARE,
  type Culture,
  type CultureName,
} from './names.ts';
import { apportion, Rng, Weighted } from './prng.ts';
import {
  ANSWER_LISTS,
  ANSWER_OPENERS,
  ANSWER_SENTENCES,
  CALLING_CODES,
  CARD_NUMBER_MESSAGES,
  COUNTRY_LOCALES,
  COUNTRY_WEIGHTS,
  EMAIL_DOMAINS,
  FOLLOW_UPS,
  HOSTILE_VALUES,
  LOCAL_DOMAINS,
  LOCAL_OPENERS,
  LOCAL_TOPICS,
  OPENERS,
  OPT_IN_MARKETING,
  PLAN_ACTIVITY,
  PLAN_MODELS,
  PLAN_WEIGHTS,
  SYSTEM_PROMPTS,
  TOPICS,
  USAGE_KIND_WEIGHTS,
} from './texts.ts';

// Generation of one block of users and everything they own, as COPY text. A block is a fixed run
// of BLOCK_SIZE user ordinals; its contents depend only on (seed, salt, block), never on which
// thread made it, so the data is the same with or without workers.

export const BLOCK_SIZE = 1000;

const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
const USAGE_WINDOW = 180 * DAY;
/**
 * The recent past in which users who are still around chat on most days, one conversation a day
 * at a time (more only once every day has one): it covers the analytics page's default 90 days,
 * so that its daily figures rise well above their noise (ADR 029).
 */
export const DENSE_DAYS = 92;
/** The share of a still-active user's conversations that fall in those days. */
const DENSE_SHARE = 0.95;
/**
 * Tokens the model reads at every turn besides the conversation: the service's own instructions,
 * never stored as a message. A `message` event's tokens are those plus the conversation so far,
 * the message and its answer.
 */
export const INSTRUCTION_TOKENS = 3_000;
const DATA_KEY_BYTES = 32;

export interface GenerateParams {
  seed: number;
  /** Distinguishes runs that append to a database from the run that filled it. */
  salt: number;
  /** The generation's "now": every timestamp lies before it. */
  anchorMs: number;
  /** Total users of this run. */
  users: number;
  messagesPerUser: number;
  eventsPerUser: number;
  master: VersionedKey;
}

/** Users whose email is not final yet: the coordinator makes emails unique across blocks. */
export interface PendingUsers {
  ids: string[];
  /** The data keys, DATA_KEY_BYTES each, in order, all of version `keyVersion`. */
  keys: Uint8Array;
  keyVersion: number;
  locals: string[];
  domains: string[];
  /** Each user's row up to the email columns (id … last_active_at, tab-terminated), in order. */
  heads: Uint8Array;
  /** Where each user's head ends in `heads`. */
  headEnds: Uint32Array;
}

export interface BlockCounts {
  conversations: number;
  messages: number;
  events: number;
  payments: number;
  preferences: number;
  preferenceChanges: number;
}

export interface BlockOutput {
  index: number;
  users: PendingUsers;
  /** COPY text (UTF-8) for every table but users. */
  chunks: Partial<Record<SeedTable, Uint8Array>>;
  counts: BlockCounts;
}

/** About how many rows a block holds at most: small blocks let the COPY start early. */
const BLOCK_ROWS = 50_000;

/**
 * Users per block: BLOCK_SIZE, or fewer when each user brings many rows (the demo's 250
 * messages), so that generating the next blocks overlaps loading the first. It depends on the
 * run's parameters only, so the data stays the same with or without worker threads.
 */
export function blockSize(params: Pick<GenerateParams, 'messagesPerUser' | 'eventsPerUser'>) {
  const rowsPerUser = 10 + 2 * params.messagesPerUser + params.eventsPerUser;
  return Math.max(50, Math.min(BLOCK_SIZE, Math.floor(BLOCK_ROWS / rowsPerUser)));
}

export function blockCount(
  params: Pick<GenerateParams, 'users' | 'messagesPerUser' | 'eventsPerUser'>,
): number {
  return Math.ceil(params.users / blockSize(params));
}

// ---------------------------------------------------------------------------------------------
// Draw tables, built once per thread.
// ---------------------------------------------------------------------------------------------

interface Name {
  latin: string;
  native: string | undefined;
  ascii: string;
}

interface PreparedCulture {
  culture: Culture;
  name: CultureName;
  first: Name[];
  last: Name[];
}

const FOLD: Record<string, string> = {
  ł: 'l', ø: 'o', æ: 'ae', ß: 'ss', đ: 'd', ı: 'i', œ: 'oe', þ: 'th', ð: 'd',
}; // prettier-ignore

function asciiFold(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[łøæßđıœþð]/g, (c) => FOLD[c] ?? '')
    .replace(/[^a-z0-9]/g, '');
}

function parseName(entry: string): Name {
  const [latin = entry, native] = entry.split('|');
  return { latin, native, ascii: asciiFold(latin) || 'user' };
}

const prepared = new Map<CultureName, PreparedCulture>();
for (const [name, culture] of Object.entries(CULTURES) as [CultureName, Culture][]) {
  prepared.set(name, {
    culture,
    name,
    first: culture.first.map(parseName),
    last: culture.last.map(parseName),
  });
}
const apostropheNames = APOSTROPHE_NAMES.map(parseName);

const countryWeights = Weighted.of<Country>(COUNTRY_WEIGHTS);
const countryCultures = new Map<Country, Weighted<CultureName>>(
  (Object.entries(COUNTRY_CULTURES) as [Country, Partial<Record<CultureName, number>>][]).map(
    ([country, mix]) => [country, Weighted.of<CultureName>(mix)],
  ),
);
const globalCultures = Weighted.of<CultureName>(GLOBAL_CULTURES);
const planWeights = Weighted.of<Plan>(PLAN_WEIGHTS);
const planModels = new Map<Plan, Weighted<Model>>(
  (Object.entries(PLAN_MODELS) as [Plan, Partial<Record<Model, number>>][]).map(([plan, mix]) => [
    plan,
    Weighted.of<Model>(mix),
  ]),
);
const statusWeights = Weighted.of<UserStatus>({ active: 94, suspended: 2, closed: 4 });
// `message` and `conversation_start` events come from the messages and conversations themselves;
// the other kinds are drawn.
const { message: _message, conversation_start: _start, ...OTHER_KINDS } = USAGE_KIND_WEIGHTS;
const kindWeights = Weighted.of(OTHER_KINDS);
const domainWeights = Weighted.of<string>(EMAIL_DOMAINS);
const emailStyles = Weighted.of({
  'first.last': 30,
  firstlast: 14,
  flast: 12,
  first_last: 6,
  'first.lastNN': 10,
  firstYYYY: 10,
  'last.first': 5,
  firstl: 4,
  firstWord: 9,
});
const brandWeights = Weighted.of<CardBrand>({
  visa: 52,
  mastercard: 32,
  amex: 10,
  discover: 4,
  jcb: 1,
  unionpay: 1,
});
const EMAIL_WORDS = ['dev', 'music', 'travel', 'cat', 'runner', 'photo', 'chef', 'gamer', 'art'];
const DISPLAY_EMOJI = ['🌻', '🚀', '☕', '🎧', '🐈', '✨', '🌊'];

const OPT_OUT: Record<Purpose, number> = {
  training: 0.2,
  analytics: 0.12,
  personalization: 0.08,
  marketing: 0.22,
};

const LOCALISED: Locale[] = ['en-US', 'en-GB'];

// One writer per table, reused from block to block (generation is synchronous).
const OWNED_TABLES = [
  'user_keys',
  'conversations',
  'messages',
  'usage_events',
  'data_use_preferences',
  'data_use_preference_changes',
  'payment_references',
] as const satisfies readonly SeedTable[];
const writers = {
  users: new CopyWriter(),
  ...(Object.fromEntries(OWNED_TABLES.map((t) => [t, new CopyWriter()])) as Record<
    (typeof OWNED_TABLES)[number],
    CopyWriter
  >),
};

// ---------------------------------------------------------------------------------------------

interface Profile {
  ordinal: number;
  rng: Rng;
  id: string;
  hostile: number;
  country: Country;
  plan: Plan;
  locale: Locale;
  status: UserStatus;
  createdMs: number;
  lastActiveMs: number | null;
  first: Name;
  last: Name;
  display: string;
  phone: string | null;
  local: string;
  domain: string;
}

function pickCulture(rng: Rng, country: Country): PreparedCulture {
  const mix = rng.chance(IMMIGRANT_SHARE) ? globalCultures : countryCultures.get(country)!;
  return prepared.get(mix.pick(rng))!;
}

function displayName(rng: Rng, culture: PreparedCulture, first: Name, last: Name): string {
  const share = culture.culture.nativeShare ?? 0;
  if (share > 0 && first.native && last.native && rng.chance(share)) {
    if (!culture.culture.familyFirst) return `${first.native} ${last.native}`;
    return culture.name === 'japanese'
      ? `${last.native} ${first.native}`
      : `${last.native}${first.native}`;
  }
  const roll = rng.float();
  if (roll < 0.03) return first.latin;
  if (roll < 0.06) return `${first.latin} ${rng.pick(DISPLAY_EMOJI)}`;
  if (roll < 0.1) return `${first.latin} ${last.latin}`.toLowerCase();
  if (roll < 0.13) return `${first.latin} ${Array.from(last.latin)[0] ?? ''}.`;
  return `${first.latin} ${last.latin}`;
}

function phoneNumber(rng: Rng, country: Country): string {
  const code = CALLING_CODES[country];
  const digits = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += String(rng.int(10));
    return s;
  };
  if (code === '1') return `+1 ${rng.range(201, 989)} ${rng.range(200, 999)} ${digits(4)}`;
  const national = rng.chance(0.5) ? 9 : 10;
  return `+${code} ${rng.range(1, 9)}${digits(2)} ${digits(3)} ${digits(national - 6)}`;
}

function emailParts(rng: Rng, country: Country, first: Name, last: Name, hostile: number) {
  if (hostile >= 0) {
    // Valid, if unusual: an apostrophe and a sub-address, as in o'brien+test@example.com.
    const apostrophe = last.latin.toLowerCase().replace(/[^a-z']/g, '');
    const local = rng.chance(0.5) ? `${apostrophe}+test` : `${first.ascii}.${apostrophe}+chat`;
    return { local, domain: 'example.com' };
  }
  const f = first.ascii;
  const l = last.ascii;
  let local: string;
  switch (emailStyles.pick(rng)) {
    case 'first.last':
      local = `${f}.${l}`;
      break;
    case 'firstlast':
      local = `${f}${l}`;
      break;
    case 'flast':
      local = `${f.slice(0, 1)}${l}`;
      break;
    case 'first_last':
      local = `${f}_${l}`;
      break;
    case 'first.lastNN':
      local = `${f}.${l}${rng.range(1, 99)}`;
      break;
    case 'firstYYYY':
      local = `${f}${rng.range(1955, 2008)}`;
      break;
    case 'last.first':
      local = `${l}.${f}`;
      break;
    case 'firstl':
      local = `${f}${l.slice(0, 1)}`;
      break;
    default:
      local = `${f}.${rng.pick(EMAIL_WORDS)}${rng.range(1, 999)}`;
  }
  if (rng.chance(0.04)) local = `${f.slice(0, 1).toUpperCase()}${local.slice(1)}`;
  const locals = LOCAL_DOMAINS[country];
  const domain = locals && rng.chance(0.3) ? rng.pick(locals) : domainWeights.pick(rng);
  return { local, domain };
}

function makeProfile(rng: Rng, ordinal: number, anchorMs: number): Profile {
  const id = rng.uuid();
  const hostile =
    ordinal < HOSTILE_VALUES.length
      ? ordinal
      : rng.chance(1 / 200)
        ? rng.int(HOSTILE_VALUES.length)
        : -1;
  const country = countryWeights.pick(rng);
  const culture = pickCulture(rng, country);
  const first = rng.pick(culture.first);
  const last = hostile >= 0 ? rng.pick(apostropheNames) : rng.pick(culture.last);
  let display = displayName(rng, culture, first, last);
  if (hostile >= 0) {
    const value = HOSTILE_VALUES[hostile]!;
    display = ordinal < HOSTILE_VALUES.length ? value : `${first.latin} ${value}`;
  }
  const plan = planWeights.pick(rng);
  const locale = rng.chance(0.1) ? rng.pick(LOCALISED) : COUNTRY_LOCALES[country];
  const ageMs = 3 * YEAR * Math.pow(rng.float(), 1.6);
  const createdMs = Math.floor(anchorMs - ageMs - rng.int(DAY) * (ageMs > DAY ? 1 : 0));
  const status = hostile >= 0 ? 'active' : statusWeights.pick(rng);
  let lastActiveMs: number | null = null;
  if (hostile >= 0 || !rng.chance(0.04)) {
    const gap =
      status !== 'closed' && rng.chance(0.72)
        ? rng.exponential(12 * DAY)
        : rng.float() * (anchorMs - createdMs);
    lastActiveMs = Math.floor(
      Math.min(anchorMs - 1000, Math.max(createdMs + 60_000, anchorMs - gap)),
    );
  }
  const phone = rng.chance(0.78) ? phoneNumber(rng, country) : null;
  const { local, domain } = emailParts(rng, country, first, last, hostile);
  return {
    ordinal,
    rng,
    id,
    hostile,
    country,
    plan,
    locale,
    status,
    createdMs,
    lastActiveMs,
    first,
    last,
    display,
    phone,
    local,
    domain,
  };
}

// ---------------------------------------------------------------------------------------------

function between(rng: Rng, from: number, to: number): number {
  const u = rng.float();
  return to <= from ? from : Math.floor(from + u * (to - from));
}

function tokenCount(rng: Rng, text: string, perToken: number): number {
  return Math.max(1, Math.ceil(text.length / perToken) + rng.int(6));
}

function answer(rng: Rng): string {
  let text = rng.chance(0.7) ? rng.pick(ANSWER_OPENERS) : '';
  const sentences = 1 + rng.int(4);
  for (let i = 0; i < sentences; i++) text += (text ? ' ' : '') + rng.pick(ANSWER_SENTENCES);
  if (rng.chance(0.2)) text += rng.pick(ANSWER_LISTS);
  return text;
}

function topicFor(rng: Rng, locale: Locale): readonly [string, string, boolean] {
  const local = LOCAL_TOPICS[locale];
  if (local && rng.chance(0.6)) {
    const [title, phrase] = rng.pick(local);
    return [title, phrase, true];
  }
  const [title, phrase] = rng.pick(TOPICS);
  return [title, phrase, false];
}

/**
 * Splits a user's messages into conversations: mostly a few exchanges, sometimes long ones (a
 * daily habit makes shorter ones: `meanExtraPairs` is the mean number of exchanges after the first).
 */
function conversationLengths(
  rng: Rng,
  messages: number,
  hostile: boolean,
  meanExtraPairs: number,
): number[] {
  const lengths: number[] = [];
  let left = messages;
  while (left > 0) {
    let pairs = 1 + Math.floor(rng.exponential(meanExtraPairs));
    if (hostile && lengths.length === 0) pairs = Math.max(pairs, 2);
    let length = pairs * 2 - (rng.chance(0.06) ? 1 : 0);
    length = Math.max(1, Math.min(left, length));
    lengths.push(length);
    left -= length;
  }
  return lengths;
}

const CUSTOMER_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789';

function customerToken(rng: Rng, provider: 'stripe' | 'paypal'): string {
  // Never a long digit run: nothing in clear may look like a card number.
  let token = '';
  let digits = 0;
  const length = provider === 'stripe' ? 14 : 13;
  while (token.length < length) {
    let c = CUSTOMER_CHARS[rng.int(CUSTOMER_CHARS.length)]!;
    if (c >= '0' && c <= '9' && ++digits > 3) c = CUSTOMER_CHARS[rng.int(48)]!;
    if (!(c >= '0' && c <= '9')) digits = 0;
    token += c;
  }
  return provider === 'stripe' ? `cus_${token}` : `B-${token.toUpperCase()}`;
}

function brandFor(rng: Rng, country: Country): CardBrand {
  if (country === 'JP' && rng.chance(0.3)) return 'jcb';
  if ((country === 'CN' || country === 'TW') && rng.chance(0.5)) return 'unionpay';
  return brandWeights.pick(rng);
}

/**
 * The day each conversation of a user starts on, as the start of a window to draw the time in, or
 * null for "any time in the user's life". A still-active user's conversations mostly fall in the
 * last DENSE_DAYS, each on a day of its own until every day has one.
 */
function conversationWindows(
  rng: Rng,
  p: Profile,
  conversations: number,
  dense: boolean,
  anchorMs: number,
): (readonly [number, number] | null)[] {
  const windows: (readonly [number, number] | null)[] = [];
  const from = Math.max(p.createdMs, anchorMs - DENSE_DAYS * DAY);
  const firstDay = Math.floor(from / DAY);
  const days = Math.floor(anchorMs / DAY) - firstDay;
  const order: number[] = [];
  for (let c = 0; c < conversations; c++) {
    if (!dense || days <= 0 || !rng.chance(DENSE_SHARE)) {
      windows.push(null);
      continue;
    }
    if (order.length === 0) {
      for (let d = 0; d < days; d++) order.push(d);
      for (let i = days - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    const dayMs = (firstDay + order.pop()!) * DAY;
    windows.push([Math.max(from, dayMs), dayMs + DAY]);
  }
  return windows;
}

/** Generates block `index` of a run: users, keys and everything the users own. */
export function generateBlock(params: GenerateParams, index: number): BlockOutput {
  const { salt, anchorMs } = params;
  // Seeds beyond 32 bits keep their high bits.
  const seedLow = params.seed >>> 0;
  const seedHigh = Math.floor(params.seed / 4294967296) >>> 0;
  const size = blockSize(params);
  const start = index * size;
  const end = Math.min(params.users, start + size);
  const count = end - start;

  const profiles: Profile[] = [];
  for (let ordinal = start; ordinal < end; ordinal++) {
    profiles.push(
      makeProfile(new Rng(seedLow, seedHigh, salt, ordinal, 0x05eed), ordinal, anchorMs),
    );
  }

  // Exact totals: the block's share of round(users × per-user mean), spread over the block's
  // users with a heavy tail (log-normal weights, paying users more active).
  const share = (perUser: number) => Math.round(perUser * end) - Math.round(perUser * start);
  const windowStart = anchorMs - USAGE_WINDOW;
  const chats = (p: Profile) => p.lastActiveMs !== null;
  const recent = (p: Profile) =>
    p.lastActiveMs !== null && p.lastActiveMs >= windowStart && p.status !== 'closed';
  const first = profiles[0];
  if (first && !profiles.some(recent)) {
    first.status = 'active';
    first.lastActiveMs = anchorMs - 3_600_000;
    if (first.createdMs > first.lastActiveMs) first.createdMs = first.lastActiveMs - DAY;
  }
  const blockRng = new Rng(seedLow, seedHigh, salt, index, 0xb10c);
  // Users still around chat on most days (a milder tail: a daily habit more than bursts); those
  // who have gone quiet chatted less, in bursts. Most messages are therefore recent.
  const messageWeights = profiles.map((p) =>
    recent(p)
      ? Math.min(4, blockRng.logNormal(1, 0.6)) *
        Math.sqrt(PLAN_ACTIVITY[p.plan]) *
        // As much a day whenever they joined: a user of ten days has a tenth of the window's share.
        Math.max(0.05, Math.min(1, (anchorMs - p.createdMs) / (DENSE_DAYS * DAY)))
      : chats(p)
        ? Math.min(60, blockRng.logNormal(1, 1.5)) * PLAN_ACTIVITY[p.plan] * 0.1
        : 0,
  );
  const eventWeights = profiles.map((p) =>
    recent(p) ? Math.min(40, blockRng.logNormal(1, 1.1)) * Math.sqrt(PLAN_ACTIVITY[p.plan]) : 0,
  );
  const messageTotal = share(params.messagesPerUser);
  const minimums = profiles.map((p) => (p.hostile >= 0 && messageTotal >= count * 2 ? 4 : 0));
  const messageCounts = apportion(messageTotal, messageWeights, minimums);
  const eventCounts = apportion(share(params.eventsPerUser), eventWeights);

  const keyBytes = new Uint8Array(count * DATA_KEY_BYTES);
  let keyVersion = 1;
  const headEnds = new Uint32Array(count);
  const ids: string[] = [];
  const locals: string[] = [];
  const domains: string[] = [];
  const w = writers;

  profiles.forEach((p, k) => {
    const { rng, id } = p;
    const key = newDataKey(id);
    keyVersion = key.version;
    keyBytes.set(key.key, k * DATA_KEY_BYTES);
    const wrapped = wrapDataKey(key, params.master);
    w.user_keys
      .ascii(id)
      .int(wrapped.keyVersion)
      .text(wrapped.masterKeyId)
      .bytea(wrapped.wrappedKey)
      .time(p.createdMs)
      .end();
    ids.push(id);
    locals.push(p.local);
    domains.push(p.domain);
    // Conversations and messages, each of the user's messages with its `message` usage event and
    // each conversation with its `conversation_start` (the figures of analytics agree with them).
    const activeUntil = p.lastActiveMs ?? p.createdMs;
    const models = planModels.get(p.plan)!;
    let hostileUsed = false;
    let lastMessageMs = 0;
    const lengths = conversationLengths(
      rng,
      messageCounts[k]!,
      p.hostile >= 0,
      recent(p) ? 1.5 : 2.3,
    );
    const windows = conversationWindows(rng, p, lengths.length, recent(p), anchorMs);
    lengths.forEach((length, c) => {
      const conversationId = rng.uuid();
      const model = models.pick(rng);
      const [topicTitle, phrase, local] = topicFor(rng, p.locale);
      const hostileHere = p.hostile >= 0 && !hostileUsed;
      // No system prompt in a hostile user's first conversation: its turns carry the payloads.
      const system =
        (p.plan === 'team' || p.plan === 'enterprise') &&
        length > 2 &&
        rng.chance(0.15) &&
        !hostileHere;
      // Message times relative to the conversation's start.
      const offsets: number[] = [];
      let t = 0;
      for (let m = 0; m < length; m++) {
        offsets.push(t);
        t +=
          (m + (system ? 1 : 0)) % 2 === 0 ? rng.range(2_000, 40_000) : rng.range(20_000, 900_000);
      }
      const span = offsets[offsets.length - 1] ?? 0;
      const window = windows[c];
      const startMs = window
        ? between(rng, window[0], Math.min(window[1], anchorMs - 1) - span)
        : between(rng, p.createdMs, activeUntil - span);
      let title = topicTitle;
      const titleRoll = rng.float();
      if (hostileHere) title = HOSTILE_VALUES[p.hostile]!;
      else if (titleRoll < 0.03) title = 'New chat';
      else if (titleRoll < 0.06) title = topicTitle.toLowerCase();
      const endMs = Math.min(anchorMs - 1, startMs + span);
      lastMessageMs = Math.max(lastMessageMs, endMs);
      w.conversations
        .ascii(conversationId)
        .ascii(id)
        .bytea(encryptField(key, 'conversations.title', conversationId, title))
        .ascii(model)
        .time(startMs)
        .time(endMs)
        .end();
      w.usage_events
        .ascii(rng.uuid())
        .ascii(id)
        .ascii('conversation_start')
        .ascii(model)
        .int(0)
        .ascii(p.country)
        .time(startMs)
        .end();
      const roles: string[] = [];
      const tokens: number[] = [];
      const times: number[] = [];
      let userTurns = 0;
      for (let m = 0; m < length; m++) {
        const messageId = rng.uuid();
        const turn = m - (system ? 1 : 0);
        const role = turn < 0 ? 'system' : turn % 2 === 0 ? 'user' : 'assistant';
        let content: string;
        if (role === 'system') content = rng.pick(SYSTEM_PROMPTS);
        else if (role === 'user') {
          if (hostileHere && userTurns === 0) content = HOSTILE_VALUES[p.hostile]!;
          else if ((hostileHere && userTurns === 1) || rng.chance(1 / 20_000)) {
            content = rng.pick(CARD_NUMBER_MESSAGES);
          } else if (userTurns === 0) {
            const openers = (local && LOCAL_OPENERS[p.locale]) || OPENERS;
            content = rng.pick(openers).replace('{t}', phrase);
          } else content = rng.pick(FOLLOW_UPS);
          userTurns++;
        } else content = answer(rng);
        const tokenCountOf = tokenCount(rng, content, role === 'assistant' ? 3.8 : 4);
        const at = Math.min(anchorMs - 1, startMs + offsets[m]!);
        w.messages
          .ascii(messageId)
          .ascii(id)
          .ascii(conversationId)
          .ascii(role)
          .bytea(encryptField(key, 'messages.content', messageId, content))
          .int(tokenCountOf)
          .time(at)
          .end();
        roles.push(role);
        tokens.push(tokenCountOf);
        times.push(at);
      }
      // One `message` event per message the user sent: the tokens of its turn are what the model
      // read and wrote (its instructions, the conversation so far, the message, the answer).
      let context = 0;
      for (let m = 0; m < length; m++) {
        if (roles[m] === 'user') {
          const answered = roles[m + 1] === 'assistant' ? tokens[m + 1]! : 0;
          w.usage_events
            .ascii(rng.uuid())
            .ascii(id)
            .ascii('message')
            .ascii(model)
            .int(INSTRUCTION_TOKENS + context + tokens[m]! + answered)
            .ascii(p.country)
            .time(times[m]!)
            .end();
        }
        context += tokens[m]!;
      }
      if (hostileHere) hostileUsed = true;
    });

    // Other usage events (sessions, uploads, voice), within the last 180 days of activity.
    const eventFrom = Math.max(p.createdMs, windowStart);
    const eventUntil = Math.max(activeUntil, lastMessageMs);
    for (let e = 0; e < eventCounts[k]!; e++) {
      const kind = kindWeights.pick(rng);
      w.usage_events.ascii(rng.uuid()).ascii(id).ascii(kind).nul().int(0).ascii(p.country);
      w.usage_events.time(between(rng, eventFrom, eventUntil)).end();
    }

    // Written after the messages: a long conversation may end after the drawn last activity.
    w.users.ascii(id).bytea(encryptField(key, 'users.display_name', id, p.display));
    if (p.phone === null) w.users.nul();
    else w.users.bytea(encryptField(key, 'users.phone', id, p.phone));
    w.users.ascii(p.country).ascii(p.plan).ascii(p.locale).ascii(p.status).time(p.createdMs);
    if (p.lastActiveMs === null) w.users.nul();
    else w.users.time(Math.max(p.lastActiveMs, lastMessageMs));
    headEnds[k] = w.users.length;

    // Data-use preferences, with the history that led to them.
    const imported = anchorMs - p.createdMs > 2.75 * YEAR;
    for (const purpose of PURPOSES) {
      let allowed = !(purpose === 'marketing' && OPT_IN_MARKETING.has(p.country));
      let at = p.createdMs;
      w.data_use_preference_changes
        .ascii(rng.uuid())
        .ascii(id)
        .ascii(purpose)
        .bool(allowed)
        .ascii(imported ? 'import' : 'default')
        .time(at)
        .end();
      if (rng.chance(allowed ? OPT_OUT[purpose] : 0.15)) {
        const toggles = rng.chance(0.08) ? 2 : 1;
        for (let n = 0; n < toggles; n++) {
          allowed = !allowed;
          at = between(rng, at + 1000, Math.max(at + 2000, activeUntil));
          w.data_use_preference_changes
            .ascii(rng.uuid())
            .ascii(id)
            .ascii(purpose)
            .bool(allowed)
            .ascii(rng.chance(0.1) ? 'privacy_request' : 'user')
            .time(at)
            .end();
        }
      }
      w.data_use_preferences.ascii(id).ascii(purpose).bool(allowed).time(at).end();
    }

    // Payment references: provider tokens and the last four digits, never a card number.
    if (p.plan !== 'free' && rng.chance(0.3)) {
      const cards = rng.chance(0.1) ? 2 : 1;
      const anchorYear = new Date(anchorMs).getUTCFullYear();
      for (let c = 0; c < cards; c++) {
        const provider = rng.chance(0.8) ? 'stripe' : 'paypal';
        w.payment_references
          .ascii(rng.uuid())
          .ascii(id)
          .ascii(provider)
          .text(customerToken(rng, provider))
          .ascii(brandFor(rng, p.country))
          .ascii(String(rng.int(10_000)).padStart(4, '0'))
          .int(rng.range(1, 12))
          .int(anchorYear + rng.range(-1, 5))
          .time(between(rng, p.createdMs, anchorMs - 1))
          .end();
      }
    }
  });

  const counts: BlockCounts = {
    conversations: w.conversations.rows,
    messages: w.messages.rows,
    events: w.usage_events.rows,
    payments: w.payment_references.rows,
    preferences: w.data_use_preferences.rows,
    preferenceChanges: w.data_use_preference_changes.rows,
  };
  const heads = w.users.take();
  const chunks: Partial<Record<SeedTable, Uint8Array>> = {};
  for (const table of OWNED_TABLES) {
    if (w[table].rows > 0) chunks[table] = w[table].take();
  }
  return {
    index,
    users: { ids, keys: keyBytes, keyVersion, locals, domains, heads, headEnds },
    chunks,
    counts,
  };
}

export const DATA_KEY_LENGTH = DATA_KEY_BYTES;
