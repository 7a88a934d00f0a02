import type postgres from 'postgres';
import { job } from '#app/modules/actor.ts';
import { decideGrant } from '#app/modules/access/grants.server.ts';
import { GrantRefusedError } from '#app/modules/access/errors.ts';
import { findLiveGrant } from '#app/modules/access/live.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { emailBlindIndex, maskEmail } from '#app/modules/crypto/envelope.server.ts';
import {
  askReviewGrant,
  createRequest,
  getRequest,
  moveRequest,
  reviewRectification,
} from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { getDb } from '#app/db/client.server.ts';
import { setPurposePreferences } from '#app/modules/users/data.server.ts';
import { ConflictError } from '#app/utils/errors.ts';
import { readAudit, type LoggedEntry } from '../support/audit.ts';
import { testKeyRing, useTestDatabase } from '../support/db.ts';
import { createStaffWithRoles, type TestStaff } from '../support/http.ts';
import { ownerConnection, plainUsers, seedUsers, type PlainUser } from './users-fixtures.ts';

// Issue 12, the changes a request makes (ADR 027): a grant bound to a rectification, approved by a
// second privacy officer and ended in the transaction that closes the request; the rectification
// applied to the profile (its email's blind index and mask too) and audited by field names; the
// restriction's and objection's purposes set as preferences with history. Each run again is
// harmless.

useTestDatabase();
let owner: postgres.Sql;
let users: PlainUser[];
let officer: TestStaff;
let officer2: TestStaff;
let lead: TestStaff;
let restoreClock: () => void;
const clockAt = Date.parse('2026-05-04T09:00:00Z');

const as = (s: TestStaff) =>
  staffActor(s.id, { client: { address: '127.0.0.1', userAgent: 'vitest' } });
const PRODUCT = job('api: product');

type Entry = LoggedEntry & { privacyRequestId?: string | null; grantId?: string | null };
async function entries(filter: { action?: string; privacyRequestId?: string; grantId?: string }) {
  return ((await readAudit()) as Entry[]).filter(
    (e) =>
      (!filter.action || e.action === filter.action) &&
      (!filter.privacyRequestId || e.privacyRequestId === filter.privacyRequestId) &&
      (!filter.grantId || e.grantId === filter.grantId),
  );
}

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  await seedUsers();
  owner = ownerConnection();
  users = await plainUsers(owner);
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
  lead = await createStaffWithRoles(['support_lead']);
});

afterAll(async () => {
  restoreClock();
  await owner.end();
});

async function rectification(userId: string, changes: Record<string, string>) {
  const { id } = await createRequest(
    { userId, type: 'rectification', details: { changes } },
    PRODUCT,
  );
  return id;
}

async function grantRow(grantId: string) {
  const [row] = await owner<
    {
      status: string;
      revoke_basis: string | null;
      revoked_at: Date | null;
      categories: string[];
      privacy_request_id: string | null;
      reason_code: string;
      duration: number;
    }[]
  >`select status, revoke_basis, revoked_at, categories, privacy_request_id, reason_code,
           extract(epoch from ends_at - starts_at)::int / 60 as duration
    from console.grants where id = ${grantId}`;
  return row!;
}

describe('a grant bound to a rectification', () => {
  test('approval by the requester is refused, and by a lead without privacy:approve', async () => {
    const id = await rectification(users[0]!.id, { display_name: 'Ada L.' });
    const { grantId } = await askReviewGrant(id, await as(officer));
    const self = await decideGrant({
      grantId,
      approver: await as(officer),
      decision: 'approve',
      comment: 'looks fine',
    }).catch((e: unknown) => e);
    expect(self).toBeInstanceOf(GrantRefusedError);
    expect((self as GrantRefusedError).reason).toBe('self_decision');
    // A support lead approves profile grants as a rule; not this one.
    const byLead = await decideGrant({
      grantId,
      approver: await as(lead),
      decision: 'approve',
      comment: 'looks fine',
    }).catch((e: unknown) => e);
    expect(byLead).toMatchObject({ permission: 'privacy:approve' });
    expect((await grantRow(grantId)).status).toBe('pending');
  });

  test('a second officer approves it: it opens the profile only, for the policy’s maximum', async () => {
    const userId = users[1]!.id;
    const id = await rectification(userId, { display_name: 'Grace H.' });
    const { grantId } = await askReviewGrant(id, await as(officer));
    const decided = await decideGrant({
      grantId,
      approver: await as(officer2),
      decision: 'approve',
      comment: 'Review of the rectification',
    });
    expect(decided.status).toBe('approved');
    expect(await grantRow(grantId)).toMatchObject({
      status: 'approved',
      categories: ['profile'],
      privacy_request_id: id,
      reason_code: 'privacy_request',
      duration: 60,
    });
    const scope = { staffId: officer.id, userId };
    expect(await findLiveGrant({ ...scope, category: 'profile' })).toMatchObject({ grantId });
    for (const category of ['conversations', 'payments', 'usage', 'preferences'] as const) {
      expect(await findLiveGrant({ ...scope, category }), category).toBeNull();
    }
    // The database holds a request-bound grant to its purpose: its reason stays privacy_request
    // (and it never breaks glass; the profile-only scope of a review is the module's, since
    // officers may also ask for other categories bound to a request, ADR 034).
    await expect(
      owner`update console.grants set reason_code = 'other' where id = ${grantId}`,
    ).rejects.toThrow(/grants_privacy_request_check/);
    // Asking again while one is live is refused.
    await expect(askReviewGrant(id, await as(officer))).rejects.toBeInstanceOf(ConflictError);
    // Only a rectification is reviewed this way.
    const access = await createRequest({ userId, type: 'access' }, PRODUCT);
    await expect(askReviewGrant(access.id, await as(officer))).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  test('closing the request revokes it in the same transaction', async () => {
    const userId = users[2]!.id;
    const id = await rectification(userId, { locale: 'de-DE' });
    const { grantId } = await askReviewGrant(id, await as(officer));
    await decideGrant({
      grantId,
      approver: await as(officer2),
      decision: 'approve',
      comment: 'ok',
    });
    // Make the revocation fail: the close must fail with it, leaving the request open.
    await owner.unsafe(`
      create function pg_temp_refuse() returns trigger language plpgsql as $$
      begin raise exception 'refused for the test'; end $$;
      create trigger refuse_revoke before update on console.grants
        for each row when (old.privacy_request_id = '${id}') execute function pg_temp_refuse();`);
    try {
      await expect(
        moveRequest(id, { kind: 'cancel', note: 'User withdrew it' }, await as(officer)),
      ).rejects.toMatchObject({ cause: { message: 'refused for the test' } });
    } finally {
      await owner.unsafe(`drop trigger refuse_revoke on console.grants;
                          drop function pg_temp_refuse();`);
    }
    expect((await getRequest(id)).request.state).toBe('received');
    expect((await grantRow(grantId)).status).toBe('approved');

    await moveRequest(id, { kind: 'cancel', note: 'User withdrew it' }, await as(officer));
    const { request } = await getRequest(id);
    const grant = await grantRow(grantId);
    expect(request.state).toBe('canceled');
    expect(grant).toMatchObject({ status: 'revoked', revoke_basis: 'purpose_closed' });
    expect(grant.revoked_at?.getTime()).toBe(request.closedAt?.getTime());
    expect(await findLiveGrant({ staffId: officer.id, userId, category: 'profile' })).toBeNull();
    const [revoke] = await entries({ action: 'grant.revoke', grantId });
    expect(revoke).toMatchObject({ privacyRequestId: id, details: { basis: 'purpose_closed' } });
  });

  test('a pending grant is withdrawn when the request closes, and cannot be approved after', async () => {
    const id = await rectification(users[3]!.id, { country: 'FR' });
    const { grantId } = await askReviewGrant(id, await as(officer));
    await moveRequest(id, { kind: 'cancel', note: 'Duplicate' }, await as(officer));
    expect((await grantRow(grantId)).status).toBe('cancelled');
    await expect(
      decideGrant({ grantId, approver: await as(officer2), decision: 'approve', comment: 'ok' }),
    ).rejects.toBeInstanceOf(GrantRefusedError);
    await expect(askReviewGrant(id, await as(officer))).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('rectification', () => {
  test('the diff shows current and requested values only under the grant, as an audited view', async () => {
    const user = users[4]!;
    const id = await rectification(user.id, {
      display_name: 'Katherine J.',
      email: 'katherine.new@example.org',
    });
    const before = await reviewRectification(id, await as(officer2));
    expect(before).toEqual({ open: false, fields: ['display_name', 'email'] });
    expect(JSON.stringify(before)).not.toContain('Katherine');
    expect(await entries({ action: 'user.view' })).toEqual([]);

    const { grantId } = await askReviewGrant(id, await as(officer2));
    await decideGrant({ grantId, approver: await as(officer), decision: 'approve', comment: 'ok' });
    const review = await reviewRectification(id, await as(officer2));
    expect(review).toEqual({
      open: true,
      lines: [
        { field: 'display_name', current: user.displayName, requested: 'Katherine J.' },
        { field: 'email', current: user.email, requested: 'katherine.new@example.org' },
      ],
    });
    const views = await entries({ action: 'user.view', grantId });
    expect(views).toHaveLength(1);
    expect(views[0]).toMatchObject({
      userId: user.id,
      details: { category: 'profile', page: 'privacy_review' },
    });
  });

  test('applied on start: new values sealed, the email’s index and mask too; fields, not values, audited; completed', async () => {
    const user = users[5]!;
    const email = 'Mary.Jackson@Example.org';
    const id = await rectification(user.id, {
      display_name: 'Mary J.',
      email,
      phone: '+1 202 555 0142',
      country: 'CA',
    });
    await moveRequest(id, { kind: 'start' }, await as(officer));
    expect(await runWork(id)).toBe('done');

    const after = (await plainUsers(owner)).find((u) => u.id === user.id)!;
    expect(after).toMatchObject({
      displayName: 'Mary J.',
      email,
      phone: '+1 202 555 0142',
      emailMasked: maskEmail(email),
    });
    const [row] = await owner<{ email_index: Buffer; country: string }[]>`
      select email_index, country from product.users where id = ${user.id}`;
    expect(row!.email_index.equals(emailBlindIndex(testKeyRing.index, email))).toBe(true);
    expect(row!.country).toBe('CA');
    // Another user's row is untouched.
    expect((await plainUsers(owner)).find((u) => u.id === users[6]!.id)).toEqual(users[6]);

    const { request } = await getRequest(id);
    expect(request).toMatchObject({ state: 'completed', progressDone: 4, progressTotal: 4 });
    const [applied] = await entries({ action: 'privacy.rectify', privacyRequestId: id });
    expect(applied?.details).toEqual({ fields: ['country', 'display_name', 'email', 'phone'] });
    const trail = JSON.stringify(await entries({ privacyRequestId: id }));
    for (const value of ['Mary', 'Jackson', '555', 'jackson']) expect(trail).not.toContain(value);
  });

  test('an email another account has fails the request (retryable), writing nothing', async () => {
    const user = users[7]!;
    const id = await rectification(user.id, {
      display_name: 'Someone Else',
      email: users[8]!.email,
    });
    await moveRequest(id, { kind: 'start' }, await as(officer));
    expect(await runWork(id)).toBe('failed');
    expect((await plainUsers(owner)).find((u) => u.id === user.id)).toEqual(user);
    const { request, events } = await getRequest(id);
    expect(request.state).toBe('failed');
    expect(JSON.stringify(events)).not.toContain(users[8]!.email);
    expect(await entries({ action: 'privacy.rectify', privacyRequestId: id })).toEqual([]);
  });

  test('a value the profile cannot hold fails the request, naming the field, writing nothing', async () => {
    const user = users[9]!;
    const id = await rectification(user.id, { display_name: 'Valid Name', country: 'Atlantis' });
    await moveRequest(id, { kind: 'start' }, await as(officer));
    expect(await runWork(id)).toBe('failed');
    expect((await plainUsers(owner)).find((u) => u.id === user.id)).toEqual(user);
    const { events } = await getRequest(id);
    expect(events.at(-1)?.note).toMatch(/details\.changes\.country|country/);
  });
});

describe('restriction and objection', () => {
  async function preferences(userId: string) {
    const current = await owner<{ purpose: string; allowed: boolean }[]>`
      select purpose, allowed from product.data_use_preferences
      where user_id = ${userId} order by purpose`;
    const history = await owner<{ purpose: string; allowed: boolean; source: string }[]>`
      select purpose, allowed, source from product.data_use_preference_changes
      where user_id = ${userId} and source = 'privacy_request' order by purpose`;
    return { current, history };
  }

  test('a restriction opts the user out of its purposes, with history, audited, completed', async () => {
    const userId = users[10]!.id;
    await owner`delete from product.data_use_preferences where user_id = ${userId}`;
    await owner`insert into product.data_use_preferences values (${userId}, 'marketing', false, now())`;
    const { id } = await createRequest(
      { userId, type: 'restriction', details: { purposes: ['training', 'marketing'] } },
      PRODUCT,
    );
    await moveRequest(id, { kind: 'start' }, await as(officer));
    expect(await runWork(id)).toBe('done');
    const { current, history } = await preferences(userId);
    expect(current).toEqual([
      { purpose: 'training', allowed: false },
      { purpose: 'marketing', allowed: false },
    ]);
    // Marketing was already off: no history line, no audit entry for it.
    expect(history).toEqual([{ purpose: 'training', allowed: false, source: 'privacy_request' }]);
    const changes = await entries({ action: 'preferences.change', privacyRequestId: id });
    expect(changes.map((e) => e.details)).toEqual([{ purpose: 'training', allowed: false }]);
    expect((await getRequest(id)).request.state).toBe('completed');
  });

  test('an objection sets its purposes; setting them again writes no second history line', async () => {
    const userId = users[11]!.id;
    const { id } = await createRequest(
      {
        userId,
        type: 'objection',
        details: { purposes: ['analytics'], grounds: 'I never agreed to this' },
      },
      PRODUCT,
    );
    await moveRequest(id, { kind: 'start' }, await as(officer));
    expect(await runWork(id)).toBe('done');
    const once = await preferences(userId);
    expect(once.current).toContainEqual({ purpose: 'analytics', allowed: false });
    // A rerun (a worker killed after its transaction committed, before it said so).
    const again = await getDb().transaction((tx) =>
      setPurposePreferences(tx, userId, ['analytics'], false, new Date(clockAt)),
    );
    expect(again).toEqual([]);
    expect(await preferences(userId)).toEqual(once);
  });
});
