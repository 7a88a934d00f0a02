import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';
import { resetEnvForTests } from '#app/config.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { createToken } from '#app/modules/api/tokens.server.ts';
import { auditKeys } from '#app/modules/audit/runs.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { packageOfRequest } from '#app/modules/privacy/package.server.ts';
import { moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { lastSeq, readAudit } from '../support/audit.ts';
import { ownerUrl, testKeyRing, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { ownerConnection, plainUsers, type PlainUser } from './users-fixtures.ts';

// The service API where it meets the work (ADR 023, 025, 026): the export endpoint streams a
// completed request's package (404 before, 410 once expired or erased, audited as a download),
// and every endpoint that reads an erased user answers 410 with nothing written, while the
// request itself, the record the law keeps, still answers.

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-api-privacy-'));
process.env.CUSTODIAN_DATA_DIR = DATA_DIR;
resetEnvForTests();

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let users: PlainUser[];
let officer: TestStaff;
let officer2: TestStaff;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  await seedProductData(ownerUrl(), testKeyRing, {
    users: 12,
    messagesPerUser: 5,
    eventsPerUser: 3,
    seed: 7,
    append: false,
    workers: 0,
  });
  owner = ownerConnection();
  users = await plainUsers(owner);
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
  server = await startTestServer();
  auditKeys(); // the certificate's signing key, made once before anything signs
  const CLI = commandLine('token create');
  const make = async (name: string, scopes: string[]) => {
    tokens[name] = (await createToken({ name, scopes }, CLI)).token;
  };
  await make('full', ['privacy-requests:write', 'privacy-requests:read', 'access-history:read']);
  await make('writer', ['privacy-requests:write']);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await owner?.end();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

const as = (s: TestStaff) =>
  staffActor(s.id, { client: { address: '127.0.0.1', userAgent: 'vitest' } });

function call(method: 'GET' | 'POST', path: string, body?: unknown, token = tokens.full!) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (method === 'POST') headers['idempotency-key'] = randomUUID();
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetchAs(null, path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function errorOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { errors: Record<string, string> };
  return { status: response.status, fields: Object.keys(body.errors) };
}

/** Everything an API call could write. */
async function footprint() {
  const [r] = await owner<{ requests: number; idempotency: number; downloads: number }[]>`
    select (select count(*)::int from console.privacy_requests) as requests,
           (select count(*)::int from console.api_idempotency) as idempotency,
           (select coalesce(sum(downloads), 0)::int from console.export_packages) as downloads`;
  return { ...r!, audit: await lastSeq() };
}

async function fileRequest(userId: string, type: string): Promise<string> {
  const response = await call('POST', '/api/v1/privacy-requests', { userId, type });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('GET /api/v1/privacy-requests/:id/export', () => {
  let requestId: string;

  beforeAll(async () => {
    requestId = await fileRequest(users[0]!.id, 'access');
  });

  test('404 while the request is not completed, writing nothing', async () => {
    const before = await footprint();
    const result = await errorOf(await call('GET', `/api/v1/privacy-requests/${requestId}/export`));
    expect(result).toEqual({ status: 404, fields: ['id'] });
    expect(await footprint()).toEqual(before);
  });

  test('403 for a token without privacy-requests:read', async () => {
    const result = await errorOf(
      await call('GET', `/api/v1/privacy-requests/${requestId}/export`, undefined, tokens.writer),
    );
    expect(result).toEqual({ status: 403, fields: ['scope'] });
  });

  test('once completed: the ZIP streamed, its hash the package’s, the download audited', async () => {
    await moveRequest(requestId, { kind: 'start' }, await as(officer));
    expect(await runWork(requestId)).toBe('done');
    const from = await lastSeq();
    const response = await call('GET', `/api/v1/privacy-requests/${requestId}/export`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="[^"]+\.zip"$/,
    );
    const zip = Buffer.from(await response.arrayBuffer());
    const pkg = (await packageOfRequest(requestId))!;
    expect(zip.length).toBe(pkg.bytes);
    expect(Number(response.headers.get('content-length'))).toBe(pkg.bytes);
    expect(createHash('sha256').update(zip).digest('hex')).toBe(pkg.sha256);
    expect(zip.subarray(0, 2).toString()).toBe('PK');
    expect(pkg.downloads).toBe(1);
    const entries = await readAudit(from);
    expect(entries.map((e) => e.action).sort()).toEqual(['api.call', 'privacy.download']);
    expect(entries.find((e) => e.action === 'privacy.download')?.details).toEqual({
      artifact: 'export',
      via: 'api',
    });
    expect(entries.find((e) => e.action === 'api.call')?.details).toMatchObject({
      endpoint: 'privacy-requests.export',
      status: 200,
    });
  });

  test('410 once the package expired', async () => {
    await owner`update console.export_packages set expires_at = now() - interval '1 minute'
                where request_id = ${requestId}`;
    const result = await errorOf(await call('GET', `/api/v1/privacy-requests/${requestId}/export`));
    expect(result).toEqual({ status: 410, fields: ['id'] });
    expect((await packageOfRequest(requestId))?.state).toBe('expired');
  });

  test('404 for a request of a type that has no package', async () => {
    const restriction = await call('POST', '/api/v1/privacy-requests', {
      userId: users[1]!.id,
      type: 'restriction',
      details: { purposes: ['training'] },
    });
    const { id } = (await restriction.json()) as { id: string };
    const result = await errorOf(await call('GET', `/api/v1/privacy-requests/${id}/export`));
    expect(result).toEqual({ status: 404, fields: ['id'] });
  });
});

describe('after an erasure, the API answers that the user is gone', () => {
  let user: PlainUser;
  let erasureId: string;
  let accessId: string;

  beforeAll(async () => {
    user = users[5]!;
    // A copy made before the erasure: the erasure deletes it with everything else.
    accessId = await fileRequest(user.id, 'access');
    await moveRequest(accessId, { kind: 'start' }, await as(officer));
    expect(await runWork(accessId)).toBe('done');
    erasureId = await fileRequest(user.id, 'erasure');
    await moveRequest(
      erasureId,
      { kind: 'propose', proposal: 'erasure', note: 'Asked in the app' },
      await as(officer),
    );
    await moveRequest(erasureId, { kind: 'approve' }, await as(officer2));
    await moveRequest(erasureId, { kind: 'start' }, await as(officer));
    expect(await runWork(erasureId)).toBe('done');
  }, 120_000);

  test.each([
    [
      'a new request',
      () => call('POST', '/api/v1/privacy-requests', { userId: user.id, type: 'access' }),
    ],
    ['the access history', () => call('GET', `/api/v1/users/${user.id}/access-history`)],
    [
      'the confirmation of a request',
      () => call('POST', `/api/v1/privacy-requests/${erasureId}/verify`),
    ],
    ['a package made before', () => call('GET', `/api/v1/privacy-requests/${accessId}/export`)],
  ])('%s → 410 naming the user, nothing written', async (_name, send) => {
    const before = await footprint();
    const result = await errorOf(await send());
    expect(result).toEqual({ status: 410, fields: ['userId'] });
    expect(await footprint()).toEqual(before);
  });

  test('the erasure request itself still answers: completed', async () => {
    const response = await call('GET', `/api/v1/privacy-requests/${erasureId}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: erasureId,
      type: 'erasure',
      state: 'completed',
    });
  });
});
