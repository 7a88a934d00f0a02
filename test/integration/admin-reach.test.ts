import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { decideRoleRequest } from '#app/modules/access/role-requests.server.ts';
import { createStaff } from '#app/modules/auth/staff.server.ts';
import {
  DEFAULT_ROLE_PERMISSIONS,
  PERMISSION_CODES,
  ROLES,
  SECOND_PERSON_PERMISSIONS,
} from '#app/modules/auth/permissions.ts';
import { commandLine } from '#app/modules/actor.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { readAudit, flushAudit, lastSeq } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  actorOf,
  alertText,
  createStaffWithRoles,
  fetchAs,
  pageText,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
  enrolTotpThroughPage,
} from '../support/http.ts';
import { insertGrant, ownerConnection, plainUsers, seedUsers } from './users-fixtures.ts';

// Issue 11, "The admin's reach" (ADR 021): roles that reach personal data or decide access take a
// second person; the approval leaves whoever asked with no usable credential (a one-time link);
// the command line is exempt; the access history names staff to security reviewers only.

const { sql } = useTestDatabase();

let server: TestServer;
let admin: TestStaff;
let admin2: TestStaff;
let auditor: TestStaff;
const cookies = new Map<string, string>();

async function cookieOf(who: TestStaff) {
  let cookie = cookies.get(who.id);
  if (!cookie) {
    cookie = await signInAs(server.baseUrl, who.email, who.password);
    cookies.set(who.id, cookie);
  }
  return cookie;
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await createStaffWithRoles(['admin']);
  admin2 = await createStaffWithRoles(['admin']);
  auditor = await createStaffWithRoles(['security_auditor']);
});
afterAll(async () => {
  await server?.close();
});

async function rolesOf(staffId: string) {
  const rows = await sql()<{ role_code: string }[]>`
    select role_code from console.staff_roles where staff_id = ${staffId} order by role_code`;
  return rows.map((r) => r.role_code);
}

async function pendingRequestOf(staffId: string) {
  const [row] = await sql()<{ id: string; roles: string[]; requested_by: string }[]>`
    select id, roles, requested_by from console.role_requests
    where staff_id = ${staffId} and status = 'pending'`;
  return row;
}

/** Creates an account through the admin's form; returns its id. */
async function addThroughConsole(by: TestStaff, roles: string[], password = 'temporary-pass-123') {
  const email = `new-${randomUUID().slice(0, 8)}@staff.test`;
  const response = await postForm(await cookieOf(by), '/admin/staff/new', {
    email,
    displayName: 'New Person',
    password,
    roles,
  });
  expect(response.status).toBe(302);
  const id = /\/admin\/staff\/([0-9a-f-]{36})/.exec(response.headers.get('location') ?? '')![1]!;
  return { id, email, password };
}

function linkOf(html: string) {
  return /\/account\/setup\/([A-Za-z0-9_-]{43})/.exec(html)?.[1];
}

describe('which roles take a second person', () => {
  it('every permission of the families that reach personal data or decide access, from the catalogue', () => {
    expect([...SECOND_PERSON_PERMISSIONS].sort()).toEqual(
      PERMISSION_CODES.filter((p) => !p.startsWith('analytics:')).sort(),
    );
    for (const p of [
      'users:lookup',
      'grants:request',
      'privacy:approve',
      'audit:read',
      'security:review',
    ]) {
      expect(SECOND_PERSON_PERMISSIONS).toContain(p);
    }
    // Today every role holds one: admin through staff:manage (ADR 021).
    for (const role of ROLES) {
      expect(
        DEFAULT_ROLE_PERMISSIONS[role].some((p) => SECOND_PERSON_PERMISSIONS.includes(p)),
      ).toBe(true);
    }
  });
});

describe('an admin cannot give data access alone (law 5)', () => {
  it('a new security auditor stays without the role until another person approves', async () => {
    const before = await lastSeq();
    const created = await addThroughConsole(admin, ['security_auditor']);
    expect(await rolesOf(created.id)).toEqual([]);
    const request = await pendingRequestOf(created.id);
    expect(request).toMatchObject({ roles: ['security_auditor'], requested_by: admin.id });

    // The account cannot break glass or read the trail: it holds no role yet.
    const asNew = await signInAs(server.baseUrl, created.email, created.password);
    expect((await fetchAs(asNew, '/grants/break-glass')).headers.get('location')).toBe(
      '/account/password',
    );

    // Approvers are alerted: the other admin and the security reviewer, not the one who asked.
    const alerted = await sql()<{ recipient_id: string }[]>`
      select recipient_id from console.notifications
      where kind = 'staff.role_requested' and subject_staff_id = ${created.id}`;
    const recipients = alerted.map((r) => r.recipient_id);
    expect(recipients).toEqual(expect.arrayContaining([admin2.id, auditor.id]));
    expect(recipients).not.toContain(admin.id);
    const notices = await pageText(await fetchAs(await cookieOf(admin2), '/notifications'));
    expect(notices).toContain('waiting for a second person');
    expect(notices).toContain('href="/admin/staff/requests"');

    const entries = (await readAudit(before)).filter(
      (e) => e.subjectStaffId === created.id && e.action.startsWith('staff.'),
    );
    expect(entries.map((e) => [e.action, e.actor?.staffId, e.details])).toEqual([
      ['staff.create', admin.id, { roles: [], pending: ['security_auditor'] }],
      ['staff.role_request', admin.id, { request: request!.id, roles: ['security_auditor'] }],
    ]);
  });

  it('the one who asked cannot approve: 403 with the reason, recorded, nothing given', async () => {
    const created = await addThroughConsole(admin, ['support_agent']);
    const request = await pendingRequestOf(created.id);
    const before = await lastSeq();
    const response = await postForm(await cookieOf(admin), '/admin/staff/requests', {
      request: request!.id,
      intent: 'approve',
    });
    expect(response.status).toBe(403);
    expect(alertText(await response.text())).toBe(
      'You asked for these roles, so you cannot approve or reject them: another admin or a security reviewer must decide.',
    );
    expect(await rolesOf(created.id)).toEqual([]);
    expect(await pendingRequestOf(created.id)).toBeDefined();
    const entries = (await readAudit(before)).filter((e) => e.action === 'staff.role_approve');
    expect(entries.map((e) => [e.outcome, e.actor?.staffId, e.details])).toEqual([
      ['denied', admin.id, { request: request!.id, reason: 'own_request' }],
    ]);
    // Nor can they reject it; they may withdraw it.
    const reject = await postForm(await cookieOf(admin), '/admin/staff/requests', {
      request: request!.id,
      intent: 'reject',
    });
    expect(reject.status).toBe(403);
    // The list shows no approve button for them.
    const list = await pageText(await fetchAs(await cookieOf(admin), '/admin/staff/requests'));
    expect(list).toContain('You asked: another person decides.');
  });

  it('an existing account: roles that need nobody else apply, the others wait; removal is at once', async () => {
    const target = await createStaffWithRoles([]);
    const response = await postForm(await cookieOf(admin), `/admin/staff/${target.id}`, {
      intent: 'roles',
      roles: ['support_lead'],
    });
    expect(response.status).toBe(200);
    expect(await pageText(response)).toContain('Support lead: waiting for a second person');
    expect(await rolesOf(target.id)).toEqual([]);
    expect((await pendingRequestOf(target.id))?.roles).toEqual(['support_lead']);
    // Asking for other roles replaces the pending request (recorded as superseded).
    await postForm(await cookieOf(admin), `/admin/staff/${target.id}`, {
      intent: 'roles',
      roles: ['privacy_officer'],
    });
    expect((await pendingRequestOf(target.id))?.roles).toEqual(['privacy_officer']);
    const [superseded] = await sql()<{ n: number }[]>`
      select count(*)::int as n from console.role_requests
      where staff_id = ${target.id} and status = 'superseded'`;
    expect(superseded!.n).toBe(1);

    // Removing a role never waits.
    const holder = await createStaffWithRoles(['support_agent', 'support_lead']);
    const removal = await postForm(await cookieOf(admin), `/admin/staff/${holder.id}`, {
      intent: 'roles',
      roles: ['support_agent'],
    });
    expect(removal.status).toBe(200);
    expect(await rolesOf(holder.id)).toEqual(['support_agent']);
    expect(await pendingRequestOf(holder.id)).toBeUndefined();
  });

  it('the account’s holder cannot approve a request about themselves', async () => {
    const target = await createStaffWithRoles(['security_auditor']);
    await postForm(await cookieOf(admin), `/admin/staff/${target.id}`, {
      intent: 'roles',
      roles: ['security_auditor', 'privacy_officer'],
    });
    const request = await pendingRequestOf(target.id);
    const result = await decideRoleRequest({
      requestId: request!.id,
      decision: 'approve',
      actor: await actorOf(target),
    });
    expect(result).toEqual({ ok: false, reason: 'own_account' });
    expect(await rolesOf(target.id)).toEqual(['security_auditor']);
  });

  it('the approval re-reads the approver’s roles in its transaction', async () => {
    const created = await addThroughConsole(admin, ['privacy_officer']);
    const request = await pendingRequestOf(created.id);
    const former = await createStaffWithRoles(['admin']);
    const stale = await actorOf(former); // holds staff:manage now…
    await sql()`delete from console.staff_roles where staff_id = ${former.id}`; // …not any more
    const result = await decideRoleRequest({
      requestId: request!.id,
      decision: 'approve',
      actor: stale,
    });
    expect(result).toEqual({ ok: false, reason: 'missing_permission' });
    expect(await rolesOf(created.id)).toEqual([]);
  });

  it('refuses a malformed or unknown request id with a clear error', async () => {
    const bad = await postForm(await cookieOf(admin2), '/admin/staff/requests', {
      request: 'nope',
      intent: 'approve',
    });
    expect(bad.status).toBe(400);
    expect(alertText(await bad.text())).toBe('Not a role request id');
    const unknown = await postForm(await cookieOf(admin2), '/admin/staff/requests', {
      request: randomUUID(),
      intent: 'approve',
    });
    expect(unknown.status).toBe(404);
    expect(alertText(await unknown.text())).toBe('No role request has this id.');
  });
});

describe('the approval leaves the asker no usable credential (one-time link)', () => {
  let created: { id: string; email: string; password: string };
  let token: string;

  it('a security reviewer approves: the roles apply, the password and sessions end, a link is shown once', async () => {
    created = await addThroughConsole(admin, ['security_auditor']);
    // The asker signs in as the account and even chooses its password…
    const asNew = await signInAs(server.baseUrl, created.email, created.password);
    expect(
      (
        await postForm(asNew, '/account/password', {
          current: created.password,
          password: 'chosen-by-the-admin-1',
          confirm: 'chosen-by-the-admin-1',
        })
      ).status,
    ).toBe(302);
    const request = await pendingRequestOf(created.id);
    const before = await lastSeq();
    const response = await postForm(await cookieOf(auditor), '/admin/staff/requests', {
      request: request!.id,
      intent: 'approve',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    token = linkOf(html)!;
    expect(token).toBeDefined();
    expect(await rolesOf(created.id)).toEqual(['security_auditor']);

    // …and holds nothing usable now: the session ended, neither password signs in.
    expect((await fetchAs(asNew, '/')).headers.get('location')).toBe('/login?redirectTo=%2F');
    for (const password of [created.password, 'chosen-by-the-admin-1']) {
      const attempt = await postForm(null, '/login', { email: created.email, password });
      expect(attempt.status).toBe(401);
    }
    // The link is stored only hashed, valid 24 hours; it is not shown again.
    const [link] = await sql()<{ token_hash: Buffer; hours: number }[]>`
      select token_hash, extract(epoch from expires_at - created_at) / 3600 as hours
      from console.password_links where staff_id = ${created.id}`;
    expect(Number(link!.hours)).toBe(24);
    expect(link!.token_hash.toString('base64url')).not.toBe(token);
    const again = await fetchAs(await cookieOf(auditor), '/admin/staff/requests?status=all');
    expect(await again.text()).not.toContain(token);

    const entries = (await readAudit(before)).filter(
      (e) => e.subjectStaffId === created.id && e.action.startsWith('staff.'),
    );
    expect(entries.map((e) => [e.action, e.outcome, e.actor?.staffId, e.details])).toEqual([
      [
        'staff.role_approve',
        'allowed',
        auditor.id,
        {
          request: request!.id,
          roles: ['security_auditor'],
          before: [],
          after: ['security_auditor'],
        },
      ],
    ]);
  });

  it('the link sets the password once; used or expired links show a clear page', async () => {
    const page = await fetchAs(null, `/account/setup/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await pageText(page)).toContain(created.email);

    const mismatch = await postForm(null, `/account/setup/${token}`, {
      password: 'my-own-password-42',
      confirm: 'something-else-42',
    });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain('The two passwords differ');
    const short = await postForm(null, `/account/setup/${token}`, {
      password: 'short',
      confirm: 'short',
    });
    expect(short.status).toBe(400);
    expect(await short.text()).toContain('Password must be at least 12 characters');

    const before = await lastSeq();
    const set = await postForm(null, `/account/setup/${token}`, {
      password: 'my-own-password-42',
      confirm: 'my-own-password-42',
    });
    expect(set.status).toBe(200);
    expect(await pageText(set)).toContain('Your password is set');
    const cookie = await signInAs(server.baseUrl, created.email, 'my-own-password-42');
    // A security auditor needs a second factor (ADR 035): held to enrolment, then let in.
    expect((await fetchAs(cookie, '/audit')).headers.get('location')).toBe('/account/security');
    await enrolTotpThroughPage(cookie, created);
    expect((await fetchAs(cookie, '/audit')).status).toBe(200);

    const used = await fetchAs(null, `/account/setup/${token}`);
    expect(used.status).toBe(410);
    expect(alertText(await used.text())).toBe(
      'This link was already used: it sets a password once.',
    );
    const reuse = await postForm(null, `/account/setup/${token}`, {
      password: 'another-password-42',
      confirm: 'another-password-42',
    });
    expect(reuse.status).toBe(410);
    await signInAs(server.baseUrl, created.email, 'my-own-password-42');
    const entries = (await readAudit(before)).filter((e) => e.action === 'auth.password_link');
    expect(entries.map((e) => [e.outcome, e.subjectStaffId, e.details])).toEqual([
      ['allowed', created.id, {}],
      ['denied', created.id, { reason: 'link_used' }],
    ]);

    const unknown = await fetchAs(null, `/account/setup/${'x'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(alertText(await unknown.text())).toBe(
      'This link is not valid: check that you copied all of it.',
    );
  });

  it('a link expires after 24 hours', async () => {
    const fresh = await addThroughConsole(admin, ['support_agent']);
    const request = await pendingRequestOf(fresh.id);
    const approved = await postForm(await cookieOf(admin2), '/admin/staff/requests', {
      request: request!.id,
      intent: 'approve',
    });
    const link = linkOf(await approved.text())!;
    const restore = setClock(new Date(Date.now() + 24 * 3_600_000 + 60_000));
    try {
      const page = await fetchAs(null, `/account/setup/${link}`);
      expect(page.status).toBe(410);
      expect(alertText(await page.text())).toBe(
        'This link has expired: it was valid for 24 hours.',
      );
      const attempt = await postForm(null, `/account/setup/${link}`, {
        password: 'too-late-password-1',
        confirm: 'too-late-password-1',
      });
      expect(attempt.status).toBe(410);
    } finally {
      restore();
    }
  });
});

describe('the command line on the server is exempt (bootstrap)', () => {
  it('`staff add` gives any role at once and is recorded with the command line as actor', async () => {
    const before = await lastSeq();
    const { id, pending } = await createStaff(
      {
        email: `boot-${randomUUID().slice(0, 8)}@staff.test`,
        displayName: 'First Admin',
        password: 'bootstrap-password-1',
        roles: ['admin', 'security_auditor'],
        mustChangePassword: true,
      },
      commandLine('staff add'),
    );
    expect(pending).toEqual([]);
    expect(await rolesOf(id)).toEqual(['admin', 'security_auditor']);
    const [entry] = (await readAudit(before)).filter((e) => e.subjectStaffId === id);
    expect(entry).toMatchObject({
      action: 'staff.create',
      actor: null,
      client: { address: null, userAgent: 'custodian-cli' },
      details: { roles: ['admin', 'security_auditor'], command: 'staff add' },
    });
    expect(await pendingRequestOf(id)).toBeUndefined();
  });
});

describe('the role requests page', () => {
  it('is for admins and security reviewers; lists, filters and sorts; has an empty state', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    expect((await fetchAs(await cookieOf(agent), '/admin/staff/requests')).status).toBe(403);
    const asAuditor = await fetchAs(await cookieOf(auditor), '/admin/staff/requests');
    expect(asAuditor.status).toBe(200);

    const empty = await pageText(
      await fetchAs(await cookieOf(admin2), '/admin/staff/requests?q=nobody-matches-this'),
    );
    expect(empty).toContain('No role request is waiting for a decision.');
    const bad = await fetchAs(await cookieOf(admin2), '/admin/staff/requests?status=maybe');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Invalid status');

    const a = await addThroughConsole(admin, ['support_lead']);
    const b = await addThroughConsole(admin, ['support_agent']);
    await sql()`update console.staff set display_name = 'Zed Sorted' where id = ${a.id}`;
    await sql()`update console.staff set display_name = 'Amy Sorted' where id = ${b.id}`;
    const names = async (search: string) => {
      const html = await pageText(
        await fetchAs(await cookieOf(admin2), `/admin/staff/requests${search}`),
      );
      return [...html.matchAll(/>(\w+ Sorted)</g)].map((m) => m[1]);
    };
    expect(await names('?q=Sorted&sort=name')).toEqual(['Amy Sorted', 'Zed Sorted']);
    expect(await names('?q=Sorted&sort=name&dir=desc')).toEqual(['Zed Sorted', 'Amy Sorted']);
    expect(await names('?q=Sorted&sort=requested')).toEqual(['Zed Sorted', 'Amy Sorted']);
    expect(await names('?q=Sorted&status=approved')).toEqual([]);
  });
});

describe('the access history names staff to security reviewers only', () => {
  let owner: postgres.Sql;
  beforeAll(async () => {
    await seedUsers();
    owner = ownerConnection();
  });
  afterAll(async () => {
    await owner?.end();
  });

  it('a colleague sees “a staff member” with the grant’s reason and ticket; a reviewer sees who', async () => {
    const [user] = await plainUsers(owner);
    const viewer = await createStaffWithRoles(['support_agent'], { displayName: 'Vera Viewer' });
    const colleague = await createStaffWithRoles(['support_agent']);
    await insertGrant(owner, { staffId: viewer.id, userId: user!.id, categories: ['usage'] });
    expect((await fetchAs(await cookieOf(viewer), `/users/${user!.id}/usage`)).status).toBe(200);
    await flushAudit();

    const seen = await pageText(await fetchAs(await cookieOf(colleague), `/users/${user!.id}`));
    expect(seen).toContain('A staff member');
    expect(seen).toContain('SUP-1234');
    expect(seen).toContain('support inquiry');
    expect(seen).not.toContain('Vera Viewer');
    expect(seen).not.toContain(viewer.id);
    expect(seen).not.toContain(viewer.id.slice(0, 8));

    const own = await pageText(await fetchAs(await cookieOf(viewer), `/users/${user!.id}`));
    expect(own).toContain('>You<');

    const reviewed = await pageText(await fetchAs(await cookieOf(auditor), `/users/${user!.id}`));
    expect(reviewed).toContain('Vera Viewer');
    expect(reviewed).toContain('SUP-1234');
  });
});
