import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { commandLine } from '#app/modules/actor.ts';
import { createToken, revokeToken } from '#app/modules/api/tokens.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { createRequest } from '#app/modules/privacy/requests.server.ts';
import { lastSeq, readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { insertGrant, ownerConnection, plainUsers, seedUsers } from './users-fixtures.ts';

// The service API (ADR 023) as the product calls it: bearer tokens only, the checks in their one
// order (401, 403, 400, 404/410, 409, replay), JSON errors, nothing written on any error, the
// first answer replayed, and an access history without staff identities.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let userIds: string[];
let officer: TestStaff;
let officerCookie: string;
const tokens: Record<string, string> = {};
const CLI = commandLine('token create');

beforeAll(async () => {
  server = await startTestServer();
  await seedUsers();
  owner = ownerConnection();
  userIds = (await plainUsers(owner)).map((u) => u.id);
  officer = await createStaffWithRoles(['privacy_officer'], { displayName: 'Olive Officer' });
  officerCookie = await signInAs(server.baseUrl, officer.email, officer.password);
  const make = async (name: string, scopes: string[]) => {
    tokens[name] = (await createToken({ name, scopes }, CLI)).token;
  };
  await make('full', ['privacy-requests:write', 'privacy-requests:read', 'access-history:read']);
  await make('writer', ['privacy-requests:write']);
  await make('reader', ['privacy-requests:read']);
  await make('history', ['access-history:read']);
  await make('revoked', ['privacy-requests:write', 'privacy-requests:read']);
  await revokeToken('revoked', commandLine('token revoke'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await owner?.end();
});

function call(
  method: string,
  path: string,
  opts: {
    token?: string | null;
    body?: unknown;
    raw?: string;
    key?: string | null;
    headers?: Record<string, string>;
  } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? tokens.full}`;
  if (method === 'POST' && opts.key !== null) headers['idempotency-key'] = opts.key ?? randomUUID();
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  return fetchAs(null, path, { method, headers, body });
}

async function answer(response: Response) {
  const text = await response.text();
  expect(response.headers.get('content-type'), text).toMatch(/^application\/json/);
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** Everything a call could write: requests, their events, audit entries, idempotency rows, last use. */
async function footprint() {
  const [r] = await owner<
    { requests: number; events: number; idempotency: number; last_used: string | null }[]
  >`
    select (select count(*)::int from console.privacy_requests) as requests,
           (select count(*)::int from console.privacy_request_events) as events,
           (select count(*)::int from console.api_idempotency) as idempotency,
           (select string_agg(coalesce(last_used_at::text, '-'), ',' order by name)
              from console.service_tokens) as last_used`;
  return { ...r!, audit: await lastSeq() };
}

/** Runs `fn`, which must answer an error, and checks that nothing was written. */
async function writesNothing(fn: () => Promise<{ status: number; body: Record<string, unknown> }>) {
  const before = await footprint();
  const result = await fn();
  expect(result.status).toBeGreaterThanOrEqual(400);
  expect(await footprint()).toEqual(before);
  return result;
}

const NEW = () => ({ userId: userIds[0], type: 'access' });

describe('tokens: 401 before anything else', () => {
  it.each([
    ['no Authorization header', null],
    ['a malformed token', 'not-a-token'],
    ['a well-formed but unknown token', `cst_${'A'.repeat(43)}`],
  ])('%s → 401, JSON, nothing written', async (_name, token) => {
    const result = await writesNothing(async () =>
      answer(await call('POST', '/api/v1/privacy-requests', { token, body: NEW() })),
    );
    expect(result.status).toBe(401);
    expect(Object.keys(result.body.errors as object)).toEqual(['Authorization']);
  });

  it('a revoked token → 401', async () => {
    const result = await writesNothing(async () =>
      answer(
        await call('POST', '/api/v1/privacy-requests', { token: tokens.revoked, body: NEW() }),
      ),
    );
    expect(result.status).toBe(401);
    const get = await call('GET', `/api/v1/privacy-requests/${randomUUID()}`, {
      token: tokens.revoked,
    });
    expect(get.status).toBe(401);
    expect(get.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('the staff session cookie alone is refused (401), for GET and POST', async () => {
    const before = await footprint();
    const post = await fetchAs(officerCookie, '/api/v1/privacy-requests', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        origin: server.origin,
      },
      body: JSON.stringify(NEW()),
    });
    expect((await answer(post)).status).toBe(401);
    const get = await fetchAs(officerCookie, `/api/v1/users/${userIds[0]}/access-history`);
    expect((await answer(get)).status).toBe(401);
    expect(await footprint()).toEqual(before);
  });

  it('401 comes before a bad body, and 403 before a bad body too', async () => {
    const bad = { raw: '{not json', headers: { 'content-type': 'application/json' } };
    const noToken = await answer(
      await call('POST', '/api/v1/privacy-requests', { token: null, key: null, ...bad }),
    );
    expect(noToken.status).toBe(401);
    const noScope = await answer(
      await call('POST', '/api/v1/privacy-requests', { token: tokens.reader, key: null, ...bad }),
    );
    expect(noScope.status).toBe(403);
  });
});

describe('scopes: 403 when the token lacks the one the endpoint needs', () => {
  it.each([
    ['POST', '/api/v1/privacy-requests', 'reader', 'privacy-requests:write'],
    ['POST', '/api/v1/privacy-requests', 'history', 'privacy-requests:write'],
    ['GET', '/api/v1/privacy-requests/:id', 'writer', 'privacy-requests:read'],
    ['POST', '/api/v1/privacy-requests/:id/verify', 'reader', 'privacy-requests:write'],
    ['GET', '/api/v1/users/:user/access-history', 'reader', 'access-history:read'],
  ])('%s %s with the %s token → 403', async (method, path, token, scope) => {
    const address = path.replace(':id', randomUUID()).replace(':user', userIds[0]!);
    const result = await writesNothing(async () =>
      answer(
        await call(method, address, {
          token: tokens[token],
          body: method === 'POST' ? NEW() : undefined,
        }),
      ),
    );
    expect(result.status).toBe(403);
    expect(result.body.errors).toEqual({ scope: expect.stringContaining(scope) });
  });
});

describe('bad input: 400 naming the field, nothing written', () => {
  it.each([
    [
      'malformed JSON',
      { raw: '{"userId": ', headers: { 'content-type': 'application/json' } },
      'body',
    ],
    ['a JSON array', { body: [1, 2] }, 'body'],
    ['a JSON string', { body: 'access' }, 'body'],
    [
      'not JSON at all',
      { raw: 'userId=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      'body',
    ],
    ['no userId', { body: { type: 'access' } }, 'userId'],
    ['a userId that is no UUID', { body: { userId: 'bob', type: 'access' } }, 'userId'],
    ['an unknown type', { body: { userId: randomUUID(), type: 'everything' } }, 'type'],
    [
      'an unknown field',
      { body: { userId: randomUUID(), type: 'access', channel: 'email' } },
      'channel',
    ],
    [
      'details an access request does not take',
      { body: { userId: randomUUID(), type: 'access', details: { x: 1 } } },
      'details.x',
    ],
    [
      'a rectification of an unknown field',
      {
        body: {
          userId: randomUUID(),
          type: 'rectification',
          details: { changes: { password: 'x' } },
        },
      },
      'details.changes.password',
    ],
    [
      'a restriction of an unknown purpose',
      { body: { userId: randomUUID(), type: 'restriction', details: { purposes: ['selling'] } } },
      'details.purposes.0',
    ],
    [
      'a NUL inside the details',
      {
        body: {
          userId: randomUUID(),
          type: 'objection',
          details: { purposes: ['training'], grounds: 'a\u0000b' },
        },
      },
      'details.grounds',
    ],
  ])('%s', async (_name, opts, field) => {
    const result = await writesNothing(async () =>
      answer(await call('POST', '/api/v1/privacy-requests', opts)),
    );
    expect(result.status).toBe(400);
    expect(Object.keys(result.body.errors as object)).toContain(field);
  });

  it('a POST without an Idempotency-Key → 400 naming the header', async () => {
    const result = await writesNothing(async () =>
      answer(await call('POST', '/api/v1/privacy-requests', { body: NEW(), key: null })),
    );
    expect(result.status).toBe(400);
    expect(result.body.errors).toEqual({ 'Idempotency-Key': expect.any(String) });
  });

  it('a bad body is a 400 even for a user who does not exist (400 before 404)', async () => {
    const result = await writesNothing(async () =>
      answer(
        await call('POST', '/api/v1/privacy-requests', {
          body: { userId: randomUUID(), type: 'rectification', details: { changes: {} } },
        }),
      ),
    );
    expect(result.status).toBe(400);
  });

  it('a bad page cursor → 400 on after; a bad limit → 400 on limit', async () => {
    const path = `/api/v1/users/${randomUUID()}/access-history`;
    const cursor = await writesNothing(async () => answer(await call('GET', `${path}?after=zzz`)));
    expect(cursor.status).toBe(400);
    expect(Object.keys(cursor.body.errors as object)).toEqual(['after']);
    const limit = await writesNothing(async () => answer(await call('GET', `${path}?limit=0`)));
    expect(limit.status).toBe(400);
    expect(Object.keys(limit.body.errors as object)).toEqual(['limit']);
  });
});

describe('unknown subjects: 404, nothing written', () => {
  it('an unknown user → 404 naming userId', async () => {
    const result = await writesNothing(async () =>
      answer(
        await call('POST', '/api/v1/privacy-requests', {
          body: { userId: randomUUID(), type: 'erasure' },
        }),
      ),
    );
    expect(result.status).toBe(404);
    expect(result.body.errors).toEqual({ userId: expect.any(String) });
    const history = await writesNothing(async () =>
      answer(await call('GET', `/api/v1/users/${randomUUID()}/access-history`)),
    );
    expect(history.status).toBe(404);
    expect(history.body.errors).toEqual({ userId: expect.any(String) });
  });

  it('an unknown request, or an id that is not one → 404 naming id', async () => {
    for (const id of [randomUUID(), 'not-an-id']) {
      const got = await writesNothing(async () =>
        answer(await call('GET', `/api/v1/privacy-requests/${id}`)),
      );
      expect(got.status).toBe(404);
      expect(got.body.errors).toEqual({ id: expect.any(String) });
      const verify = await writesNothing(async () =>
        answer(await call('POST', `/api/v1/privacy-requests/${id}/verify`)),
      );
      expect(verify.status).toBe(404);
    }
  });

  it('an unknown address under /api/v1 → JSON 404; a wrong method → JSON 405 with Allow', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const got = await answer(await call(method, '/api/v1/nothing/here', { token: null }));
      expect(got.status).toBe(404);
      expect(got.body.errors).toEqual({ path: expect.any(String) });
    }
    const get = await call('GET', '/api/v1/privacy-requests');
    expect(get.headers.get('allow')).toBe('POST');
    expect((await answer(get)).status).toBe(405);
    const del = await call('DELETE', `/api/v1/privacy-requests/${randomUUID()}`);
    expect(del.headers.get('allow')).toBe('GET');
    expect((await answer(del)).status).toBe(405);
    const put = await call('PUT', '/api/v1/privacy-requests', { body: NEW() });
    expect((await answer(put)).status).toBe(405);
    const patch = await call('PATCH', `/api/v1/privacy-requests/${randomUUID()}`);
    expect((await answer(patch)).status).toBe(405);
    // OPTIONS is no method of the router's: still JSON, never the console's HTML.
    const options = await call('OPTIONS', `/api/v1/privacy-requests/${randomUUID()}`);
    expect((await answer(options)).status).toBeLessThan(500);
  });
});

describe('POST /api/v1/privacy-requests', () => {
  it('creates a verified request (201), audited with the token as actor, and reads back', async () => {
    const before = await lastSeq();
    const key = randomUUID();
    const created = await answer(
      await call('POST', '/api/v1/privacy-requests', {
        token: tokens.writer,
        key,
        body: { userId: userIds[1], type: 'restriction', details: { purposes: ['training'] } },
      }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      state: 'received',
      type: 'restriction',
      verified: true,
      dueAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T23:59:59\.999Z$/),
    });
    const id = created.body.id as string;
    const entries = (await readAudit(before)).filter((e) => e.actor !== null);
    const tokenId = (
      await owner<{ id: string }[]>`select id from console.service_tokens where name = 'writer'`
    )[0]!.id;
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['privacy.request', { service: 'writer', tokenId }],
      ['api.call', { service: 'writer', tokenId }],
    ]);
    expect(entries[1]!.details).toEqual({ endpoint: 'privacy-requests.create', status: 201 });

    const read = await answer(await call('GET', `/api/v1/privacy-requests/${id}`));
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      id,
      type: 'restriction',
      state: 'received',
      verified: true,
      receivedAt: expect.any(String),
      dueAt: created.body.dueAt,
      progress: { step: null, done: 0, total: 0 },
    });
    const [used] = await owner<{ last_used_at: Date | null }[]>`
      select last_used_at from console.service_tokens where name = 'writer'`;
    expect(used!.last_used_at).not.toBeNull();
  });

  it('the same key and body → the first answer again, same status, nothing created twice', async () => {
    const key = randomUUID();
    const body = { userId: userIds[2], type: 'erasure' };
    const first = await answer(await call('POST', '/api/v1/privacy-requests', { key, body }));
    expect(first.status).toBe(201);
    const counted = await footprint();
    // The same JSON, its keys in another order and spaced differently: the same body.
    const again = await call('POST', '/api/v1/privacy-requests', {
      key,
      raw: `{ "type": "erasure",   "userId": "${userIds[2]}" }`,
      headers: { 'content-type': 'application/json' },
    });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const replayed = await answer(again);
    expect(replayed).toEqual(first);
    const after = await footprint();
    expect({ ...after, audit: 0, last_used: '' }).toEqual({ ...counted, audit: 0, last_used: '' });
    // The replay is itself a call on record.
    const [entry] = (await readAudit(counted.audit)).filter((e) => e.action === 'api.call');
    expect(entry!.details).toEqual({
      endpoint: 'privacy-requests.create',
      status: 201,
      replay: true,
    });
  });

  it('the same key with another body → 409, nothing written; keys are per token', async () => {
    const key = randomUUID();
    const first = await answer(
      await call('POST', '/api/v1/privacy-requests', {
        key,
        body: { userId: userIds[3], type: 'access' },
      }),
    );
    expect(first.status).toBe(201);
    const conflict = await writesNothing(async () =>
      answer(
        await call('POST', '/api/v1/privacy-requests', {
          key,
          body: { userId: userIds[3], type: 'portability' },
        }),
      ),
    );
    expect(conflict.status).toBe(409);
    expect(conflict.body.errors).toEqual({ 'Idempotency-Key': expect.any(String) });
    // The same key on another endpoint is another request too.
    const elsewhere = await writesNothing(async () =>
      answer(
        await call('POST', `/api/v1/privacy-requests/${first.body.id as string}/verify`, { key }),
      ),
    );
    expect(elsewhere.status).toBe(409);
    // Another token's same key is its own.
    const other = await answer(
      await call('POST', '/api/v1/privacy-requests', {
        token: tokens.writer,
        key,
        body: { userId: userIds[3], type: 'portability' },
      }),
    );
    expect(other.status).toBe(201);
  });

  it('two concurrent calls with one key create one request and answer alike', async () => {
    const key = randomUUID();
    const body = { userId: userIds[4], type: 'access' };
    const before = await footprint();
    const results = await Promise.all(
      [1, 2, 3].map(async () =>
        answer(await call('POST', '/api/v1/privacy-requests', { key, body })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const after = await footprint();
    expect(after.requests).toBe(before.requests + 1);
    expect(after.idempotency).toBe(before.idempotency + 1);
  });

  it('a rectification keeps its new values out of the idempotency record and the trail', async () => {
    const secret = `new-name-${randomUUID()}`;
    const before = await lastSeq();
    const key = randomUUID();
    const created = await answer(
      await call('POST', '/api/v1/privacy-requests', {
        key,
        body: {
          userId: userIds[5],
          type: 'rectification',
          details: { changes: { display_name: secret } },
        },
      }),
    );
    expect(created.status).toBe(201);
    const [row] = await owner<{ t: string }[]>`
      select row_to_json(i)::text as t from console.api_idempotency i where key = ${key}`;
    expect(row!.t).not.toContain(secret);
    for (const e of await readAudit(before)) expect(e.raw).not.toContain(secret);
  });
});

describe('POST /api/v1/privacy-requests/:id/verify', () => {
  it('confirms a staff-entered request: verifying → received, as product confirmation', async () => {
    const entered = await createRequest(
      { userId: userIds[6]!, type: 'access', channel: 'email' },
      await staffActor(officer.id),
    );
    expect(entered.state).toBe('verifying');
    const key = randomUUID();
    const before = await lastSeq();
    const verified = await answer(
      await call('POST', `/api/v1/privacy-requests/${entered.id}/verify`, { key }),
    );
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ id: entered.id, state: 'received', verified: true });
    const [row] = await owner<{ verification_method: string }[]>`
      select verification_method from console.privacy_requests where id = ${entered.id}`;
    expect(row!.verification_method).toBe('product_confirmation');
    const moves = (await readAudit(before)).filter((e) => e.action === 'privacy.transition');
    expect(moves.map((e) => [e.details, (e.actor as { service?: string }).service])).toEqual([
      [{ from: 'verifying', to: 'received', step: 'verify' }, 'full'],
    ]);
    // Replayed with the same key: the first answer. With a new key: the state forbids it (409).
    const replay = await answer(
      await call('POST', `/api/v1/privacy-requests/${entered.id}/verify`, { key }),
    );
    expect(replay).toEqual(verified);
    const again = await writesNothing(async () =>
      answer(await call('POST', `/api/v1/privacy-requests/${entered.id}/verify`, { body: {} })),
    );
    expect(again.status).toBe(409);
    expect(again.body.errors).toEqual({ state: expect.any(String) });
  });

  it('takes no body fields', async () => {
    const result = await writesNothing(async () =>
      answer(
        await call('POST', `/api/v1/privacy-requests/${randomUUID()}/verify`, {
          body: { evidence: 'I promise' },
        }),
      ),
    );
    expect(result.status).toBe(400);
    expect(Object.keys(result.body.errors as object)).toEqual(['evidence']);
  });
});

describe('GET /api/v1/users/:id/access-history', () => {
  it('lists accesses newest first, keyset-paged, with no staff identity', async () => {
    const userId = userIds[7]!;
    const agent = await createStaffWithRoles(['support_agent'], { displayName: 'Zed Zebra-Agent' });
    const actor = await staffActor(agent.id, {
      client: { address: '10.9.8.7', userAgent: 'agent-browser' },
    });
    const grant = await insertGrant(owner, { staffId: agent.id, userId, categories: ['profile'] });
    const glass = await insertGrant(owner, {
      staffId: agent.id,
      userId,
      categories: ['conversations'],
      breakGlass: true,
    });
    await recordAudit(actor, {
      action: 'user.lookup',
      outcome: 'allowed',
      userId,
      details: { by: 'email', found: true },
    });
    for (let i = 0; i < 3; i++) {
      await recordAudit(actor, {
        action: 'user.view',
        outcome: 'allowed',
        userId,
        grantId: grant,
        details: { category: 'profile' },
      });
    }
    await recordAudit(actor, {
      action: 'user.reveal',
      outcome: 'allowed',
      userId,
      grantId: glass,
      details: { category: 'conversations', field: 'email' },
    });
    // A refused attempt saw nothing: not listed.
    await recordAudit(actor, {
      action: 'user.view',
      outcome: 'denied',
      userId,
      details: { category: 'payments' },
    });

    await lastSeq(); // the sequencer's work: the entries reach the log
    const items: Record<string, unknown>[] = [];
    const texts: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const response = await call(
        'GET',
        `/api/v1/users/${userId}/access-history?limit=2${next ? `&after=${next}` : ''}`,
        { token: tokens.history },
      );
      const text = await response.clone().text();
      const page = await answer(response);
      expect(page.status).toBe(200);
      texts.push(text);
      items.push(...(page.body.items as Record<string, unknown>[]));
      next = page.body.next as string | null;
      pages++;
    } while (next && pages < 10);
    expect(pages).toBe(3);
    expect(items.map((i) => [i.action, i.category, i.reasonCode, i.breakGlass])).toEqual([
      ['reveal', 'conversations', 'support_inquiry', true],
      ['view', 'profile', 'support_inquiry', false],
      ['view', 'profile', 'support_inquiry', false],
      ['view', 'profile', 'support_inquiry', false],
      ['lookup', null, null, false],
    ]);
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual([
        'action',
        'at',
        'breakGlass',
        'category',
        'reasonCode',
      ]);
    }
    const all = texts.join('\n');
    for (const secret of [
      agent.id,
      agent.email,
      'Zed Zebra-Agent',
      '10.9.8.7',
      'agent-browser',
      grant,
      glass,
      'SUP-1234',
    ]) {
      expect(all).not.toContain(secret);
    }
    const times = items.map((i) => Date.parse(i.at as string));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});

describe('the same-origin check', () => {
  it('a POST without Origin is taken under /api/v1, and still refused elsewhere', async () => {
    const api = await call('POST', '/api/v1/privacy-requests', {
      body: { userId: userIds[8], type: 'access' },
    });
    expect(api.status).toBe(201);
    const console = await postForm(officerCookie, '/privacy', {}, { origin: null });
    expect(console.status).toBe(403);
    expect(await console.text()).toMatch(/Cross-site request refused/);
    // A path that leaves /api/v1 once its dot segments are resolved is the console's.
    for (const sneaky of ['/api/v1/../../privacy', '/api/v1/%2e%2e/%2e%2e/privacy']) {
      const refused = await postForm(officerCookie, sneaky, {}, { origin: null });
      expect(refused.status, sneaky).toBe(403);
    }
  });
});
