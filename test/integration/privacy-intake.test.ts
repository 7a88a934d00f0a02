import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import { getDb } from '#app/db/client.server.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { queueUserMessage } from '#app/modules/privacy/outbox.server.ts';
import { getRequest, requestDetails } from '#app/modules/privacy/requests.server.ts';
import { utcDay } from '#app/modules/users/lookup.server.ts';
import { readAudit, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  htmlText,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { ownerConnection, plainUsers, seedUsers, type PlainUser } from './users-fixtures.ts';

// Manual intake (ADR 024): a privacy officer enters a request received by email, letter, phone or
// otherwise at /privacy/new, the user found as the lookup finds them; it starts unverified, the
// user is asked to sign in and confirm, or the officer records another verification with its
// method and evidence. Bad input names its field and writes nothing; staff never see the text of
// a message to the user, nor a code or link that would confirm a request for them.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let users: PlainUser[];
let officer: TestStaff;
let cookie: string;
let restoreClock: () => void;
const clockAt = Date.parse('2026-03-02T09:00:00Z');

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  await seedUsers();
  owner = ownerConnection();
  users = await plainUsers(owner);
  officer = await createStaffWithRoles(['privacy_officer']);
  server = await startTestServer();
  cookie = await signInAs(server.baseUrl, officer.email, officer.password);
});

afterAll(async () => {
  restoreClock();
  await server?.close();
  await owner.end();
});

const DATA = '?_data=routes%2Fprivacy.new';

async function counts() {
  const [row] = await owner<
    { requests: number; events: number; outbox: number; lookups: number; intake: number }[]
  >`select (select count(*)::int from console.privacy_requests) as requests,
           (select count(*)::int from console.privacy_request_events) as events,
           (select count(*)::int from console.user_outbox) as outbox,
           (select coalesce(sum(distinct_targets), 0)::int from console.user_lookup_days) as lookups,
           (select count(*)::int from console.audit_intake) +
           (select count(*)::int from console.audit_entries) as intake`;
  return row!;
}

async function enter(fields: Record<string, string | string[]>) {
  return postForm(cookie, `/privacy/new${DATA}`, fields);
}

describe('the intake form', () => {
  test('is offered from the queue and from a user’s page', async () => {
    const queue = await fetchAs(cookie, '/privacy');
    expect(await queue.text()).toContain('href="/privacy/new"');
    const page = await fetchAs(cookie, `/privacy/new?user=${users[0]!.id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`value="${users[0]!.id}"`);
    expect(htmlText(html)).toContain('Mail is not configured');
    const userPage = await fetchAs(cookie, `/users/${users[0]!.id}`);
    expect(await userPage.text()).toContain(`href="/privacy/new?user=${users[0]!.id}"`);
  });

  test('bad input names each field, and nothing is looked up or written', async () => {
    const before = await counts();
    const email = users[1]!.email;
    const cases: [Record<string, string | string[]>, string[]][] = [
      [{}, ['user', 'type', 'channel']],
      [{ user: 'jane', type: 'access', channel: 'email' }, ['user']],
      [{ user: email, type: 'delete-everything', channel: 'email' }, ['type']],
      [{ user: email, type: 'access', channel: 'pigeon' }, ['channel']],
      [
        { user: email, type: 'access', channel: 'email', 'details.grounds': 'Because' },
        ['details.grounds'],
      ],
      [{ user: email, type: 'rectification', channel: 'letter' }, ['details.changes']],
      [
        {
          user: email,
          type: 'rectification',
          channel: 'letter',
          'details.changes.email': 'x'.repeat(501),
          'details.purposes': ['training'],
        },
        ['details.purposes', 'details.changes.email'],
      ],
      [
        { user: email, type: 'objection', channel: 'phone', 'details.purposes': ['spying'] },
        ['details.purposes', 'details.grounds'],
      ],
      [
        { user: email, type: 'restriction', channel: 'other', 'details.grounds': 'a\u0000b' },
        ['details.grounds'],
      ],
    ];
    for (const [fields, named] of cases) {
      const response = await enter(fields);
      expect(response.status, JSON.stringify(fields)).toBe(400);
      const body = (await response.json()) as { fieldErrors: Record<string, string> };
      expect(Object.keys(body.fieldErrors).sort(), JSON.stringify(fields)).toEqual(named.sort());
    }
    expect(await counts()).toEqual(before);
  });

  test('an unknown user is named, and only the lookup is on record', async () => {
    const before = await counts();
    const response = await enter({
      user: `nobody-${randomBytes(4).toString('hex')}@example.com`,
      type: 'access',
      channel: 'email',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      fieldErrors: { user: 'No user has this email address: only exact matches are found' },
    });
    const after = await counts();
    expect(after).toMatchObject({
      requests: before.requests,
      events: before.events,
      outbox: before.outbox,
      lookups: before.lookups + 1,
    });
    const lookups = (await readAudit()).filter((e) => e.action === 'user.lookup');
    expect(lookups.at(-1)?.details).toEqual({ by: 'email', found: false });
  });

  test('over the daily lookup limit the user field is refused, and nothing is written', async () => {
    const other = await createStaffWithRoles(['privacy_officer']);
    const otherCookie = await signInAs(server.baseUrl, other.email, other.password);
    await owner`insert into console.user_lookup_days (staff_id, day, distinct_targets)
                values (${other.id}, ${utcDay(new Date(clockAt))}, 1000000)`;
    const before = await counts();
    const response = await postForm(otherCookie, `/privacy/new${DATA}`, {
      user: users[2]!.id,
      type: 'access',
      channel: 'email',
    });
    expect(response.status).toBe(429);
    const body = (await response.json()) as { fieldErrors: Record<string, string> };
    expect(body.fieldErrors.user).toMatch(/^Lookup refused/);
    expect(await counts()).toMatchObject({
      requests: before.requests,
      events: before.events,
      outbox: before.outbox,
    });
  });

  test('a letter found by email: entered unverified, the user asked to confirm, no text shown', async () => {
    const user = users[3]!;
    const newName = `Renamed ${randomBytes(4).toString('hex')}`;
    const response = await postForm(cookie, '/privacy/new', {
      user: `  ${user.email.toUpperCase()} `,
      type: 'rectification',
      channel: 'letter',
      'details.changes.display_name': newName,
      'details.changes.phone': '',
    });
    expect(response.status).toBe(302);
    const location = response.headers.get('location')!;
    const id = /^\/privacy\/([0-9a-f-]{36})\?entered=1$/.exec(location)?.[1];
    expect(id).toBeDefined();
    const { request, events } = await getRequest(id!);
    expect(request).toMatchObject({
      userId: user.id,
      type: 'rectification',
      state: 'verifying',
      source: 'staff',
      channel: 'letter',
      verified: false,
      createdBy: officer.id,
    });
    expect(await requestDetails(id!)).toEqual({ display_name: newName });
    expect(events.map((e) => [e.kind, e.note])).toEqual([
      ['received', 'Entered by staff (letter)'],
      ['message', 'Request to sign in and confirm queued'],
    ]);
    const [message] = await owner<{ template: string; state: string }[]>`
      select template, state from console.user_outbox where request_id = ${id!}`;
    expect(message).toEqual({ template: 'confirm_request', state: 'queued' });
    // The lookup that found the user is on record, by email.
    const trail = await readAudit();
    const lookup = trail.filter((e) => e.action === 'user.lookup' && e.userId === user.id);
    expect(lookup.at(-1)?.details).toEqual({ by: 'email', found: true });
    const entry = trail.find(
      (e: LoggedEntry & { privacyRequestId?: string }) =>
        e.action === 'privacy.request' && e.privacyRequestId === id,
    );
    expect(entry?.details).toEqual({
      type: 'rectification',
      source: 'staff',
      verified: false,
      regime: request.regime,
      fields: ['display_name'],
    });
    // The page: the message and its state, never its text, the address or the new value.
    const page = await (await fetchAs(cookie, location)).text();
    const text = htmlText(page);
    expect(text).toContain('Request entered.');
    expect(text).toContain('Request to sign in and confirm');
    expect(text).toContain('queued');
    expect(text).toContain('Mail is not configured');
    for (const secret of [user.email, newName, 'Settings, Privacy', 'We will never ask']) {
      expect(page).not.toContain(secret);
    }
    expect(JSON.stringify(trail)).not.toContain(newName);
  });

  test('no code or link that would confirm a request reaches staff: not on the page or timeline', async () => {
    const user = users[4]!;
    const response = await postForm(cookie, '/privacy/new', {
      user: user.id,
      type: 'access',
      channel: 'email',
    });
    const location = response.headers.get('location')!;
    const id = location.split('/')[2]!.split('?')[0]!;
    const link = `https://custodian.test/p/${randomBytes(24).toString('base64url')}`;
    await getDb().transaction((tx) =>
      queueUserMessage(tx, {
        userId: user.id,
        requestId: id,
        template: 'completion',
        vars: { link },
      }),
    );
    const page = await (await fetchAs(cookie, `/privacy/${id}`)).text();
    expect(htmlText(page)).toContain('Completion notice');
    expect(page).not.toContain(link);
    expect(page).not.toContain(link.slice(-32));
    // The confirmation request holds no code at all: what staff could read is only its template.
    const { events } = await getRequest(id);
    expect(JSON.stringify(events)).not.toMatch(/code|token|https?:/i);
    expect(page).not.toMatch(/confirm\?|verify\?|token=/i);
  });
});

describe('verification by the officer', () => {
  test('records its method and evidence; a verification without a method is refused', async () => {
    const response = await postForm(cookie, '/privacy/new', {
      user: users[5]!.id,
      type: 'erasure',
      channel: 'letter',
    });
    const path = response.headers.get('location')!.split('?')[0]!;
    const id = path.split('/')[2]!;
    const page = htmlText(await (await fetchAs(cookie, path)).text());
    expect(page).toContain('Verified by');
    expect(page).toContain('A signed letter matching the account');
    const without = await postForm(cookie, `${path}?_data=routes%2Fprivacy.%24requestId`, {
      intent: 'verify',
      note: 'Signature matches the one on file',
    });
    expect(without.status).toBe(400);
    expect(await without.json()).toMatchObject({ field: 'method' });
    expect((await getRequest(id)).request.state).toBe('verifying');
    const verified = await postForm(cookie, path, {
      intent: 'verify',
      method: 'signed_letter',
      note: 'Signature matches the one on file, ticket PRIV-88',
    });
    expect(verified.status).toBe(200);
    const { request, events } = await getRequest(id);
    expect(request).toMatchObject({
      state: 'received',
      verified: true,
      verificationMethod: 'signed_letter',
    });
    expect(events.at(-1)).toMatchObject({
      kind: 'verify',
      note: 'Signature matches the one on file, ticket PRIV-88',
    });
  });
});
