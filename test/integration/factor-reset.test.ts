import type postgres from 'postgres';
import { setClock } from '#app/modules/clock.server.ts';
import { regenerateRecoveryCodes } from '#app/modules/auth/factors.server.ts';
import { lastSeq, readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  actorOf,
  createStaffWithRoles,
  fetchAs,
  pageText,
  postForm,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { ownerConnection } from './users-fixtures.ts';

// ADR 038: an admin (staff:manage) removes all of another staff member's second factors, with a
// reason, after a fresh second factor of their own; the member's sessions end and, when their
// roles need a factor, their next sign-in is held to enrolment. Never on one's own account.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let clockAt = Date.parse('2026-06-02T09:00:07Z');
let restoreClock: () => void;
const tick = (ms: number) => {
  clockAt += ms;
};

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  owner = ownerConnection();
  server = await startTestServer();
});
afterAll(async () => {
  restoreClock?.();
  await owner?.end();
  await server?.close();
});
beforeEach(async () => {
  await owner`delete from console.sign_in_throttle`;
  tick(30_000);
});

const count = async (table: string, staffId: string) =>
  (
    await owner<{ n: number }[]>`
      select count(*)::int as n from ${owner('console.' + table)} where staff_id = ${staffId}`
  )[0]!.n;

describe("an admin's reset of a member's second factors", () => {
  it('removes them all with a reason, audited; the sessions end; the next sign-in is held to enrolment', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const lead = await createStaffWithRoles(['support_lead']);
    const adminCookie = await signInAs(server.baseUrl, admin.email, admin.password);
    tick(30_000);
    const leadCookie = await signInAs(server.baseUrl, lead.email, lead.password);
    expect((await fetchAs(leadCookie, '/grants')).status).toBe(200);
    await regenerateRecoveryCodes(await actorOf(lead));
    expect(await count('recovery_codes', lead.id)).toBe(10);

    const page = await pageText(await fetchAs(adminCookie, `/admin/staff/${lead.id}`));
    expect(page).toContain('Remove all second factors and end sessions');

    const before = await lastSeq();
    const done = await postForm(adminCookie, `/admin/staff/${lead.id}`, {
      intent: 'reset-factors',
      reason: 'lost_device',
    });
    expect(done.status).toBe(200);
    expect(await pageText(done)).toContain('Second factors removed and sessions ended');
    const entries = await readAudit(before);
    expect(
      entries.map((e) => [e.action, e.outcome, e.actor?.staffId, e.subjectStaffId, e.details]),
    ).toEqual([
      [
        'staff.factor_reset',
        'allowed',
        admin.id,
        lead.id,
        { reason: 'lost_device', factors: 1, kinds: ['totp'] },
      ],
    ]);
    for (const table of ['staff_factors', 'recovery_codes', 'sessions', 'pending_sign_ins']) {
      expect([table, await count(table, lead.id)]).toEqual([table, 0]);
    }
    // The member's session ended.
    const ended = await fetchAs(leadCookie, '/grants');
    expect(ended.status).toBe(302);
    expect(ended.headers.get('location')).toMatch(/^\/login/);
    // The next sign-in has no second step and opens only enrolment.
    const next = await postForm(null, '/login', { email: lead.email, password: lead.password });
    expect(next.status).toBe(302);
    const held = await fetchAs(sessionCookieOf(next)!, '/grants');
    expect([held.status, held.headers.get('location')]).toEqual([302, '/account/security']);
  });

  it('is refused without a fresh second factor of the admin, and nothing is removed', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const officer = await createStaffWithRoles(['privacy_officer']);
    const adminCookie = await signInAs(server.baseUrl, admin.email, admin.password);
    tick(6 * 60_000);
    const before = await lastSeq();
    const refused = await postForm(adminCookie, `/admin/staff/${officer.id}`, {
      intent: 'reset-factors',
      reason: 'stolen_device',
    });
    expect(refused.status).toBe(403);
    expect(await pageText(refused)).toContain('data-refusal="step-up"');
    expect((await readAudit(before)).map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.step_up', 'denied', { for: 'factor.manage', reason: 'stale_factor' }],
    ]);
    expect(await count('staff_factors', officer.id)).toBe(1);
  });

  it('is refused on one’s own account, for a reason outside the list, and without staff:manage', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const adminCookie = await signInAs(server.baseUrl, admin.email, admin.password);
    const own = await postForm(adminCookie, `/admin/staff/${admin.id}`, {
      intent: 'reset-factors',
      reason: 'lost_device',
    });
    expect(own.status).toBe(400);
    expect(await pageText(own)).toContain('Nobody resets their own second factors');
    expect(await count('staff_factors', admin.id)).toBe(1);

    const agent = await createStaffWithRoles(['support_agent'], { secondFactor: true });
    const badReason = await postForm(adminCookie, `/admin/staff/${agent.id}`, {
      intent: 'reset-factors',
      reason: 'because',
    });
    expect(badReason.status).toBe(400);
    expect(await pageText(badReason)).toContain('Choose why the factors are reset');

    const lead = await createStaffWithRoles(['support_lead']);
    const leadCookie = await signInAs(server.baseUrl, lead.email, lead.password);
    const notAdmin = await postForm(leadCookie, `/admin/staff/${agent.id}`, {
      intent: 'reset-factors',
      reason: 'lost_device',
    });
    expect(notAdmin.status).toBe(403);
    expect(await count('staff_factors', agent.id)).toBe(1);
  });

  it('an account whose roles need no factor signs in with its password alone afterwards', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const agent = await createStaffWithRoles(['support_agent'], { secondFactor: true });
    const adminCookie = await signInAs(server.baseUrl, admin.email, admin.password);
    expect(
      (
        await postForm(adminCookie, `/admin/staff/${agent.id}`, {
          intent: 'reset-factors',
          reason: 'other',
        })
      ).status,
    ).toBe(200);
    const next = await postForm(null, '/login', { email: agent.email, password: agent.password });
    expect(next.status).toBe(302);
    expect((await fetchAs(sessionCookieOf(next)!, '/grants')).status).toBe(200);
  });
});
