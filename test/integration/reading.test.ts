import type postgres from 'postgres';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  htmlText,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { insertGrant, ownerConnection, plainUsers, seedUsers } from './users-fixtures.ts';

// Tables and reading (issue 13): codes shown by their display names, counts with their plural
// and thousands separators, the lookup field focused on load with `/` as its shortcut.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let agent: { id: string; cookie: string };

beforeAll(async () => {
  await seedUsers();
  owner = ownerConnection();
  server = await startTestServer();
  const who = await createStaffWithRoles(['support_agent']);
  agent = { id: who.id, cookie: await signInAs(server.baseUrl, who.email, who.password) };
});
afterAll(async () => {
  await owner?.end();
  await server?.close();
});

/** What the page shows: the text of its main element (not the loader's data in the scripts). */
const textOf = (html: string) =>
  htmlText(
    /<main[^]*<\/main>/
      .exec(html)![0]
      .replace(/<!-- -->/g, '')
      .replace(/<[^>]+>/g, ' '),
  ).replace(/\s+/g, ' ');

describe('a user’s usage page', () => {
  it('names the kinds of event, and counts with plurals and thousands separators', async () => {
    const [user] = await plainUsers(owner);
    await owner`update product.usage_events set tokens = 8095 where user_id = ${user!.id}`;
    const [kinds] = await owner<{ n: number }[]>`
      select count(distinct kind)::int as n from product.usage_events where user_id = ${user!.id}`;
    // One kind with a single event, for the singular.
    await owner`delete from product.usage_events where user_id = ${user!.id} and kind = 'voice_input'`;
    await owner`
      insert into product.usage_events (id, user_id, kind, model, tokens, country, occurred_at)
      select gen_random_uuid(), user_id, 'voice_input', model, 1, country, occurred_at
        from product.usage_events where user_id = ${user!.id} limit 1`;
    await insertGrant(owner, { staffId: agent.id, userId: user!.id, categories: ['usage'] });
    const response = await fetchAs(agent.cookie, `/users/${user!.id}/usage`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const text = textOf(html);
    expect(kinds!.n).toBeGreaterThan(0);
    for (const code of ['session_start', 'conversation_start', 'file_upload', 'voice_input'])
      expect(html).not.toContain(`>${code}<`);
    expect(text).toContain('Voice input');
    expect(text).toContain('1 event, 1 token');
    expect(text).not.toMatch(/\b1 events\b/);
    expect(text).toContain('8,095');
    expect(text).not.toMatch(/\b8095\b/);
  });
});

describe('the lookup page (/users)', () => {
  it('focuses the lookup field on load and offers / as its shortcut', async () => {
    const response = await fetchAs(agent.cookie, '/users');
    expect(response.status).toBe(200);
    const html = await response.text();
    const input = /<input[^>]*id="q"[^>]*>/.exec(html)?.[0] ?? '';
    expect(input).toContain('aria-keyshortcuts="/"');
    expect(input).toMatch(/autofocus/i);
    expect(textOf(html)).toContain('Press / to come back to this field.');
  });
});
