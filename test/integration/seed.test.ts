import postgres from 'postgres';
import {
  decryptField,
  emailBlindIndex,
  unwrapDataKey,
  type DataKey,
} from '#app/modules/crypto/envelope.server.ts';
import { HOSTILE_VALUES } from '#app/modules/seed/texts.ts';
import {
  SeedRefusedError,
  seedProductData,
  type SeedOptions,
} from '#app/modules/seed/seed.server.ts';
import { COUNTRIES, LOCALES, PLANS, PURPOSES } from '#app/modules/vocabulary.ts';
import { createTestDatabase, ownerUrl, testKeyRing, useTestDatabase } from '../support/db.ts';

const { sql } = useTestDatabase();

const OPTIONS: SeedOptions = {
  users: 300,
  messagesPerUser: 6,
  eventsPerUser: 5,
  seed: 42,
  append: false,
};

const PRODUCT_TABLES = [
  'user_keys',
  'conversations',
  'messages',
  'usage_events',
  'data_use_preferences',
  'data_use_preference_changes',
  'payment_references',
] as const;

type Sql = postgres.Sql;

async function dataKeys(db: Sql): Promise<Map<string, DataKey>> {
  const rows = await db<
    { user_id: string; key_version: number; master_key_id: string; wrapped_key: Buffer }[]
  >`select user_id, key_version, master_key_id, wrapped_key from product.user_keys`;
  return new Map(
    rows.map((r) => [
      r.user_id,
      unwrapDataKey(
        {
          userId: r.user_id,
          keyVersion: r.key_version,
          masterKeyId: r.master_key_id,
          wrappedKey: r.wrapped_key,
        },
        testKeyRing,
      ),
    ]),
  );
}

interface PlainUser {
  id: string;
  country: string;
  plan: string;
  locale: string;
  email: string;
  displayName: string;
}

async function plainUsers(db: Sql): Promise<PlainUser[]> {
  const keys = await dataKeys(db);
  const rows = await db<
    {
      id: string;
      country: string;
      plan: string;
      locale: string;
      email_enc: Buffer;
      display_name_enc: Buffer;
    }[]
  >`select id, country, plan, locale, email_enc, display_name_enc from product.users order by id`;
  return rows.map((r) => {
    const key = keys.get(r.id)!;
    return {
      id: r.id,
      country: r.country,
      plan: r.plan,
      locale: r.locale,
      email: decryptField(key, 'users.email', r.id, r.email_enc),
      displayName: decryptField(key, 'users.display_name', r.id, r.display_name_enc),
    };
  });
}

async function withDatabase<T>(run: (url: string, db: Sql) => Promise<T>): Promise<T> {
  // The seed's bulk load runs as the owner (it drops and rebuilds indexes).
  const url = ownerUrl(await createTestDatabase());
  const db = postgres(url, { max: 2, onnotice: () => {} });
  try {
    return await run(url, db);
  } finally {
    await db.end();
  }
}

const indexDefinitions = (db: Sql) =>
  db<{ indexname: string; indexdef: string }[]>`
    select indexname, indexdef from pg_indexes where schemaname = 'product' order by indexname`;

describe('seedProductData', () => {
  let url: string;

  beforeAll(async () => {
    url = ownerUrl();
    const result = await seedProductData(url, testKeyRing, { ...OPTIONS, workers: 0 });
    expect(result.users).toBe(300);
  });

  it('loads the expected counts', async () => {
    const count = async (table: string) =>
      (await sql().unsafe(`select count(*)::int as n from product.${table}`))[0]!.n as number;
    expect(await count('users')).toBe(300);
    expect(await count('user_keys')).toBe(300);
    expect(await count('messages')).toBe(300 * 6);
    // Drawn events (sessions, uploads, voice) plus one per conversation and per message sent.
    const [derived] = await sql()<{ n: number }[]>`
      select ((select count(*) from product.messages where role = 'user')
            + (select count(*) from product.conversations))::int as n`;
    expect(await count('usage_events')).toBe(300 * 5 + derived!.n);
    expect(await count('data_use_preferences')).toBe(300 * PURPOSES.length);
    expect(await count('data_use_preference_changes')).toBeGreaterThanOrEqual(
      300 * PURPOSES.length,
    );
    expect(await count('conversations')).toBeGreaterThan(100);
    expect(await count('conversations')).toBeLessThanOrEqual(300 * 6);

    // Every user has every purpose, and each preference matches its latest change.
    const [mismatch] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.data_use_preferences p
       where p.allowed is distinct from (
         select c.allowed from product.data_use_preference_changes c
          where c.user_id = p.user_id and c.purpose = p.purpose
          order by c.changed_at desc, c.source = 'default' limit 1)`;
    expect(mismatch!.n).toBe(0);

    const vocab = await sql()<{ country: string; plan: string; locale: string }[]>`
      select distinct country, plan::text, locale from product.users`;
    for (const row of vocab) {
      expect(COUNTRIES).toContain(row.country);
      expect(PLANS).toContain(row.plan);
      expect(LOCALES).toContain(row.locale);
    }
    // Realistic spread: several countries, free plan most common, some opt-outs, a long tail.
    expect(new Set(vocab.map((v) => v.country)).size).toBeGreaterThan(10);
    const plans = await sql()<{ plan: string; n: number }[]>`
      select plan::text, count(*)::int as n from product.users group by plan order by n desc`;
    expect(plans[0]!.plan).toBe('free');
    const [optOut] = await sql()<{ share: number }[]>`
      select avg((not allowed)::int)::float as share from product.data_use_preferences
       where purpose = 'training'`;
    expect(optOut!.share).toBeGreaterThan(0.05);
    expect(optOut!.share).toBeLessThan(0.4);
    const [tail] = await sql()<{ most: number; median: number }[]>`
      select max(n)::int as most, percentile_disc(0.5) within group (order by n)::int as median
        from (select count(*) as n from product.messages group by user_id) t`;
    expect(tail!.most).toBeGreaterThan(tail!.median * 5);
    const [kinds] = await sql()<{ ok: boolean }[]>`
      select bool_and((kind = 'message') = (model is not null and tokens > 0)
                      or kind = 'conversation_start') as ok
        from product.usage_events`;
    expect(kinds!.ok).toBe(true);
    const [outside] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.messages m join product.users u on u.id = m.user_id
       where m.created_at < u.created_at or m.created_at > u.last_active_at`;
    expect(outside!.n).toBe(0);
    const [countries] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.usage_events e join product.users u on u.id = e.user_id
       where e.country <> u.country`;
    expect(countries!.n).toBe(0);
  });

  it('gives every message a user sent its `message` event, every conversation its start', async () => {
    // Per user, the usage events agree with the messages and conversations (ADR 029).
    const [disagree] = await sql()<{ users: number; messages: number; conversations: number }[]>`
      with m as (select user_id, count(*) as n from product.messages where role = 'user'
                  group by user_id),
           c as (select user_id, count(*) as n from product.conversations group by user_id),
           e as (select user_id, count(*) filter (where kind = 'message') as messages,
                        count(*) filter (where kind = 'conversation_start') as conversations
                   from product.usage_events group by user_id)
      select count(*)::int as users,
             count(*) filter (where coalesce(m.n, 0) <> coalesce(e.messages, 0))::int as messages,
             count(*) filter (where coalesce(c.n, 0) <> coalesce(e.conversations, 0))::int
               as conversations
        from product.users u
        left join m on m.user_id = u.id
        left join c on c.user_id = u.id
        left join e on e.user_id = u.id`;
    expect(disagree).toEqual({ users: 300, messages: 0, conversations: 0 });
    // Each event is at its message's time, with its conversation's model; a message event's
    // tokens cover at least the message and its answer.
    const [unmatched] = await sql()<{ messages: number; starts: number }[]>`
      select (select count(*) from product.messages m
                join product.conversations c on c.id = m.conversation_id
               where m.role = 'user'
                 and not exists (
                   select 1 from product.usage_events e
                    where e.user_id = m.user_id and e.kind = 'message'
                      and e.occurred_at = m.created_at and e.model = c.model
                      and e.tokens >= m.token_count)
             )::int as messages,
             (select count(*) from product.conversations c
               where not exists (
                 select 1 from product.usage_events e
                  where e.user_id = c.user_id and e.kind = 'conversation_start'
                    and e.occurred_at = c.created_at and e.model = c.model)
             )::int as starts`;
    expect(unmatched).toEqual({ messages: 0, starts: 0 });
  });

  it('is deterministic: the same seed gives the same users, with or without worker threads', async () => {
    const first = await plainUsers(sql());
    const second = await withDatabase(async (otherUrl, db) => {
      await seedProductData(otherUrl, testKeyRing, { ...OPTIONS, workers: 2 });
      return plainUsers(db);
    });
    expect(second).toEqual(first);
    const differentSeed = await withDatabase(async (otherUrl, db) => {
      await seedProductData(otherUrl, testKeyRing, { ...OPTIONS, users: 20, seed: 43 });
      return plainUsers(db);
    });
    expect(differentSeed.map((u) => u.id)).not.toEqual(first.slice(0, 20).map((u) => u.id));
  });

  it('keeps emails unique and valid-looking, and the blind index finds a user by email', async () => {
    const users = await plainUsers(sql());
    const emails = users.map((u) => u.email.toLowerCase());
    expect(new Set(emails).size).toBe(users.length);
    for (const email of emails) expect(email).toMatch(/^[a-z0-9._'+-]+@[a-z0-9.-]+\.[a-z]+$/);
    expect(emails.some((e) => e.includes("'") && e.includes('+'))).toBe(true);

    const target = users[123]!;
    const [found] = await sql()<{ id: string; email_masked: string }[]>`
      select id, email_masked from product.users
       where email_index = ${emailBlindIndex(testKeyRing.index, ` ${target.email.toUpperCase()} `)}`;
    expect(found?.id).toBe(target.id);
    expect(found?.email_masked.endsWith(target.email.slice(target.email.indexOf('@')))).toBe(true);
  });

  it('round-trips hostile values exactly through encryption', async () => {
    const users = await plainUsers(sql());
    const names = new Set(users.map((u) => u.displayName));
    for (const value of HOSTILE_VALUES) expect(names).toContain(value);
    expect([...names].some((n) => n.length === 5000)).toBe(true);

    const keys = await dataKeys(sql());
    const titles = (
      await sql()<{ id: string; user_id: string; title_enc: Buffer }[]>`
        select id, user_id, title_enc from product.conversations`
    ).map((r) => decryptField(keys.get(r.user_id)!, 'conversations.title', r.id, r.title_enc));
    const contents = (
      await sql()<{ id: string; user_id: string; content_enc: Buffer }[]>`
        select id, user_id, content_enc from product.messages`
    ).map((r) => decryptField(keys.get(r.user_id)!, 'messages.content', r.id, r.content_enc));
    for (const value of HOSTILE_VALUES) {
      expect(titles).toContain(value);
      expect(contents).toContain(value);
    }
    expect(contents.some((c) => c.includes('4111 1111 1111 1111'))).toBe(true);
  });

  it('stores no card number in clear anywhere, only last four digits', async () => {
    const cardLike = /(?:\d[ -]?){12,18}\d/;
    const columns = await sql()<{ table_name: string; column_name: string }[]>`
      select table_name, column_name from information_schema.columns
       where table_schema = 'product' and data_type in ('text', 'character varying')`;
    for (const { table_name, column_name } of columns) {
      const rows = await sql().unsafe(
        `select distinct "${column_name}"::text as v from product."${table_name}"`,
      );
      for (const { v } of rows) if (v !== null) expect(v).not.toMatch(cardLike);
    }
    const [leak] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.messages
       where position(convert_to('4111 1111 1111 1111', 'UTF8') in content_enc) > 0`;
    expect(leak!.n).toBe(0);
    const payments = await sql()<{ last4: string; customer_token: string; provider: string }[]>`
      select last4, customer_token, provider::text from product.payment_references`;
    expect(payments.length).toBeGreaterThan(0);
    for (const p of payments) {
      expect(p.last4).toMatch(/^\d{4}$/);
      expect(p.customer_token).toMatch(p.provider === 'stripe' ? /^cus_\w{14}$/ : /^B-\w{13}$/);
    }
    const [free] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.payment_references p
        join product.users u on u.id = p.user_id where u.plan = 'free'`;
    expect(free!.n).toBe(0);
  });

  it('gives every product row a user that exists', async () => {
    for (const table of PRODUCT_TABLES) {
      const [orphans] = await sql().unsafe(
        `select count(*)::int as n from product.${table} t
          where not exists (select 1 from product.users u where u.id = t.user_id)`,
      );
      expect(orphans!.n, table).toBe(0);
    }
    const [mixed] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.messages m
        join product.conversations c on c.id = m.conversation_id
       where c.user_id <> m.user_id`;
    expect(mixed!.n).toBe(0);
    const [lost] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.messages m
       where not exists (select 1 from product.conversations c where c.id = m.conversation_id)`;
    expect(lost!.n).toBe(0);
  });

  it('refuses a database that holds users, and appends when asked', async () => {
    await expect(seedProductData(url, testKeyRing, OPTIONS)).rejects.toThrow(SeedRefusedError);
    const before = await plainUsers(sql());
    const result = await seedProductData(url, testKeyRing, {
      ...OPTIONS,
      users: 100,
      append: true,
    });
    expect(result.users).toBe(100);
    const after = await plainUsers(sql());
    expect(after).toHaveLength(400);
    expect(new Set(after.map((u) => u.email.toLowerCase())).size).toBe(400);
    const kept = new Map(after.map((u) => [u.id, u]));
    for (const user of before) expect(kept.get(user.id)).toEqual(user);
    const [messages] = await sql()<{ n: number }[]>`
      select count(*)::int as n from product.messages`;
    expect(messages!.n).toBe(400 * 6);
  });

  it('drops and rebuilds the indexes exactly, and rolls everything back on failure', async () => {
    await withDatabase(async (otherUrl, db) => {
      const before = await indexDefinitions(db);
      await seedProductData(otherUrl, testKeyRing, { ...OPTIONS, users: 50, dropIndexes: true });
      expect(await indexDefinitions(db)).toEqual(before);

      // A key row that collides with one the seed will write: the primary key's rebuild fails
      // after every COPY has run, and nothing of the load may remain.
      const [taken] = await db<
        { user_id: string }[]
      >`select user_id from product.user_keys limit 1`;
      await db`truncate product.users, product.user_keys, product.conversations, product.messages,
        product.usage_events, product.data_use_preferences, product.data_use_preference_changes,
        product.payment_references`;
      await db`insert into product.user_keys (user_id, master_key_id, wrapped_key, created_at)
               values (${taken!.user_id}, 'x', '\\x00', now())`;
      await expect(
        seedProductData(otherUrl, testKeyRing, { ...OPTIONS, users: 50, dropIndexes: true }),
      ).rejects.toThrow(/user_keys_pkey/);
      const left = async () =>
        (
          await db<{ n: number }[]>`
            select (select count(*) from product.users)::int
                 + (select count(*) from product.messages)::int
                 + (select count(*) from product.user_keys)::int - 1 as n`
        )[0]!.n;
      expect(await left()).toBe(0);
      expect(await indexDefinitions(db)).toEqual(before);

      // With the indexes kept, the duplicate surfaces when COPY flushes its last rows.
      await expect(
        seedProductData(otherUrl, testKeyRing, { ...OPTIONS, users: 50, dropIndexes: false }),
      ).rejects.toThrow(/user_keys_pkey/);
      expect(await left()).toBe(0);
    });
  });
});
