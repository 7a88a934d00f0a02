import { randomBytes, randomUUID } from 'node:crypto';
import { GrantInputError, refusalReason } from '#app/modules/access/errors.ts';
import {
  breakGlass,
  cancelGrant,
  disableStaff,
  decideGrant,
  expireDue,
  requestGrant,
  revokeGrant,
  reviewBreakGlass,
  type RequestGrantInput,
} from '#app/modules/access/grants.server.ts';
import {
  checkLiveGrant,
  findLiveGrant,
  liveGrantsFor,
  type GrantScope,
} from '#app/modules/access/live.server.ts';
import { getGrant, listGrants } from '#app/modules/access/list.server.ts';
import {
  countUnread,
  listNotifications,
  markNotificationsRead,
  notify,
} from '#app/modules/access/notifications.server.ts';
import { listPolicies, updatePolicy } from '#app/modules/access/policies.server.ts';
import { CARD_PLACEHOLDER } from '#app/modules/access/redact.ts';
import { DEFAULT_GRANT_POLICIES } from '#app/modules/access/vocabulary.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { JOBS } from '#app/server/jobs.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { lastSeq, readAudit, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import { createStaffWithRoles, type TestStaff } from '../support/http.ts';
import { inquiryFor } from './users-fixtures.ts';

const { sql } = useTestDatabase();

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// One clock for the file, only ever moved forward.
let clockAt = Date.now();
let restoreClock: () => void;
const advance = (ms: number) => {
  clockAt += ms;
};
const at = () => new Date(clockAt);

let agent: TestStaff;
let agent2: TestStaff;
let lead: TestStaff;
let lead2: TestStaff;
let officer: TestStaff;
let auditor: TestStaff;
let auditor2: TestStaff;
let admin: TestStaff;
/** Holds grants:approve only (profile, usage, preferences), through a role made for the test. */
let basicApprover: TestStaff;
let userA: string;
let userB: string;

/** The staff member as a request would give them: roles read now, a client address. */
const as = (s: TestStaff) =>
  staffActor(s.id, { client: { address: '127.0.0.1', userAgent: 'vitest' } });

async function makeUser(): Promise<string> {
  const id = randomUUID();
  await sql()`
    insert into product.users (id, email_enc, email_index, email_index_key_id, email_masked,
                               display_name_enc, country, plan, locale, created_at)
    values (${id}, ${randomBytes(16)}, ${randomBytes(32)}, 'test', 'j•••@example.com',
            ${randomBytes(16)}, 'US', 'plus', 'en-US', ${new Date().toISOString()})`;
  return id;
}

async function request(
  requester: TestStaff,
  overrides: Partial<RequestGrantInput> = {},
): Promise<RequestGrantInput> {
  const input: RequestGrantInput = {
    requester: await as(requester),
    userId: userA,
    categories: ['conversations'],
    reasonCode: 'support_inquiry',
    justification: 'Customer reports that a conversation from yesterday disappeared',
    ticketRef: 'SUP-1042',
    durationMinutes: 30,
    ...overrides,
  };
  // A support_inquiry grant names an open inquiry of the user assigned to the requester (ADR
  // 034); a valid user id is needed for that, so a test of a bad one gets none.
  if (
    input.reasonCode === 'support_inquiry' &&
    !('inquiryId' in overrides) &&
    /^[0-9a-f-]{36}$/.test(input.userId)
  ) {
    input.inquiryId = await inquiryFor(requester.id, input.userId);
  }
  return input;
}

/** Why there is no live grant for this scope (fails the test when there is one). */
async function refusalOf(scope: GrantScope) {
  const check = await checkLiveGrant(scope);
  if (check.live) throw new Error(`a live grant covers ${JSON.stringify(scope)}`);
  return check.refusal;
}

/** Runs `op` and returns what it returned or threw, with the audit entries it left. */
async function audited<T>(op: () => Promise<T>) {
  const before = await lastSeq();
  let result: T | undefined;
  let error: unknown;
  try {
    result = await op();
  } catch (e) {
    error = e;
  }
  const entries = await readAudit(before);
  return { result, error, entries };
}

type Entry = LoggedEntry & { grantId?: string | null };

function only(entries: LoggedEntry[]): Entry {
  expect(entries.map((e) => `${e.action}:${e.outcome}`)).toHaveLength(1);
  return entries[0]!;
}

async function grantRow(id: string) {
  const [row] = await sql()<
    {
      status: string;
      justification: string;
      starts_at: Date | null;
      ends_at: Date | null;
      revoke_basis: string | null;
      break_glass: boolean;
    }[]
  >`select status, justification, starts_at, ends_at, revoke_basis, break_glass
    from console.grants where id = ${id}`;
  return {
    ...row!,
    starts_at: row!.starts_at && new Date(row!.starts_at),
    ends_at: row!.ends_at && new Date(row!.ends_at),
  };
}

async function grantCount() {
  const [row] = await sql()<{ n: number }[]>`select count(*)::int as n from console.grants`;
  return row!.n;
}

async function approved(
  requester: TestStaff,
  overrides: Partial<RequestGrantInput> = {},
  approver = lead,
) {
  const { grantId } = await requestGrant(await request(requester, overrides));
  await decideGrant({
    grantId,
    approver: await as(approver),
    decision: 'approve',
    comment: 'Looks right',
  });
  return grantId;
}

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  [agent, agent2, lead, lead2, officer, auditor, auditor2, admin] = await Promise.all([
    createStaffWithRoles(['support_agent']),
    createStaffWithRoles(['support_agent']),
    createStaffWithRoles(['support_lead']),
    createStaffWithRoles(['support_lead']),
    createStaffWithRoles(['privacy_officer']),
    createStaffWithRoles(['security_auditor']),
    createStaffWithRoles(['security_auditor']),
    createStaffWithRoles(['admin']),
  ]);
  basicApprover = await createStaffWithRoles([]);
  await sql()`insert into console.roles (code, name) values ('basic_approver', 'Basic approver')`;
  await sql()`insert into console.role_permissions (role_code, permission_code)
              values ('basic_approver', 'grants:approve'), ('basic_approver', 'grants:request')`;
  await sql()`insert into console.staff_roles (staff_id, role_code, granted_at)
              values (${basicApprover.id}, 'basic_approver', ${new Date().toISOString()})`;
  [userA, userB] = await Promise.all([makeUser(), makeUser()]);
});

afterAll(() => {
  restoreClock();
});

describe('the tables', () => {
  it('hold the default policy of every category', async () => {
    const policies = await listPolicies();
    expect(policies.map(({ updatedAt: _, ...p }) => p)).toEqual(
      Object.entries(DEFAULT_GRANT_POLICIES).map(([category, p]) => ({ category, ...p })),
    );
  });

  it('are open to the app role, except deleting grants or changing decisions', async () => {
    const rows = await sql()<{ t: string; p: string; ok: boolean }[]>`
      select t, p, has_table_privilege('custodian_app', t, p) as ok
      from unnest(array['console.grants', 'console.grant_decisions', 'console.grant_policies',
                        'console.notifications']) t,
           unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p`;
    const allowed = Object.fromEntries(rows.map((r) => [`${r.t} ${r.p}`, r.ok]));
    expect(allowed).toEqual({
      'console.grants SELECT': true,
      'console.grants INSERT': true,
      'console.grants UPDATE': true,
      'console.grants DELETE': false,
      'console.grant_decisions SELECT': true,
      'console.grant_decisions INSERT': true,
      'console.grant_decisions UPDATE': false,
      'console.grant_decisions DELETE': false,
      'console.grant_policies SELECT': true,
      'console.grant_policies INSERT': true,
      'console.grant_policies UPDATE': true,
      'console.grant_policies DELETE': false,
      'console.notifications SELECT': true,
      'console.notifications INSERT': true,
      'console.notifications UPDATE': true,
      'console.notifications DELETE': true,
    });
    // The test's connection runs as custodian_app too.
    await expect(sql()`delete from console.grants`).rejects.toThrow(/permission denied/);
  });

  it('register the expiry job to run every minute', () => {
    expect(JOBS.find((j) => j.name === 'access.expire')?.cron).toBe('* * * * *');
  });
});

describe('requesting a grant', () => {
  it('stores a pending request, notifies its possible approvers and audits it once', async () => {
    const { result, entries } = await audited(async () => requestGrant(await request(agent)));
    expect(result).toMatchObject({
      status: 'pending',
      categories: ['conversations'],
      approvalsNeeded: 1,
      approverPermissions: ['grants:approve_sensitive'],
    });
    expect(result!.requestExpiresAt.getTime()).toBe(clockAt + 24 * HOUR);
    const entry = only(entries);
    expect(entry).toMatchObject({
      action: 'grant.request',
      outcome: 'allowed',
      actor: { staffId: agent.id, roles: ['support_agent'] },
      userId: userA,
      grantId: result!.grantId,
      client: { address: '127.0.0.1', userAgent: 'vitest' },
      details: {
        categories: ['conversations'],
        reasonCode: 'support_inquiry',
        durationMinutes: 30,
        inquiry: expect.any(String),
      },
    });
    expect(
      await refusalOf({ staffId: agent.id, userId: userA, category: 'conversations' }),
    ).toMatchObject({ missing: 'pending', grantId: result!.grantId });
    const notified = await sql()<{ recipient_id: string }[]>`
      select recipient_id from console.notifications
      where grant_id = ${result!.grantId} and kind = 'grant.requested'`;
    expect(notified.map((n) => n.recipient_id).sort()).toEqual(
      [lead.id, lead2.id, officer.id].sort(),
    );
  });

  it.each([
    ['justification', { justification: '.' }, /at least 20 letters or digits/],
    [
      'justification',
      { justification: 'test test test test test test test test' },
      /different words/,
    ],
    ['justification', { justification: '                                     ' }, /at least 20/],
    ['ticketRef', { ticketRef: 'call me' }, /Ticket reference must look like SUP-1234/],
    ['ticketRef', { ticketRef: '' }, /Ticket reference is required/],
    ['categories', { categories: [] }, /at least one data category/],
    ['categories', { categories: ['everything'] }, /Not a data category/],
    ['reasonCode', { reasonCode: 'curious' }, /Choose a reason/],
    [
      'durationMinutes',
      { durationMinutes: 120 },
      /at most 60 minutes: the policy for conversations/,
    ],
    ['durationMinutes', { durationMinutes: 0 }, /at least 5 minutes/],
    ['startsAt', { startsAt: new Date(clockAt - 2 * HOUR) }, /not be in the past/],
    ['userId', { userId: randomUUID() }, /No user has this id/],
    ['userId', { userId: 'someone' }, /Enter the user’s id/],
  ])(
    'bad %s: an error naming the field, nothing written or audited',
    async (field, change, message) => {
      const before = await grantCount();
      const { error, entries } = await audited(async () =>
        requestGrant(await request(agent, { startsAt: null, ...change })),
      );
      expect(error).toBeInstanceOf(GrantInputError);
      expect((error as GrantInputError).field).toBe(field);
      expect((error as GrantInputError).status).toBe(400);
      expect((error as GrantInputError).fieldErrors[field]).toMatch(message);
      expect(entries).toEqual([]);
      expect(await grantCount()).toBe(before);
    },
  );

  it('caps the duration by the shortest maximum of the requested categories', async () => {
    await updatePolicy({
      category: 'payments',
      maxDurationMinutes: 15,
      approvalsNeeded: 1,
      approverPermission: 'grants:approve_sensitive',
      by: await as(admin),
    });
    try {
      const attempt = requestGrant(
        await request(agent, { categories: ['profile', 'payments'], durationMinutes: 30 }),
      );
      await expect(attempt).rejects.toMatchObject({
        fieldErrors: {
          durationMinutes: expect.stringMatching(/at most 15 minutes: the policy for payments/),
        },
      });
      const ok = await requestGrant(
        await request(agent, { categories: ['profile', 'payments'], durationMinutes: 15 }),
      );
      expect(ok.approverPermissions).toEqual(['grants:approve', 'grants:approve_sensitive']);
    } finally {
      await updatePolicy({
        category: 'payments',
        ...DEFAULT_GRANT_POLICIES.payments,
        by: await as(admin),
      });
    }
  });

  it('redacts card numbers in the justification and the comment before storing them', async () => {
    const { grantId } = await requestGrant(
      await request(agent, {
        categories: ['payments'],
        justification:
          'Customer pasted their card 4111-1111-1111-1111 asking about a double charge',
      }),
    );
    const row = await grantRow(grantId);
    expect(row.justification).toBe(
      `Customer pasted their card ${CARD_PLACEHOLDER} asking about a double charge`,
    );
    await decideGrant({
      grantId,
      approver: await as(lead),
      decision: 'approve',
      comment: 'Checked the ticket, card 5500 0000 0000 0004 is theirs',
    });
    const [decision] = await sql()<{ comment: string }[]>`
      select comment from console.grant_decisions where grant_id = ${grantId}`;
    expect(decision!.comment).toBe(`Checked the ticket, card ${CARD_PLACEHOLDER} is theirs`);
    const raw = (await readAudit()).map((e) => e.raw).join('\n');
    expect(raw).not.toMatch(/4111-1111-1111-1111|5500 0000 0000 0004/);
  });

  it('is refused without grants:request, and the refusal is audited', async () => {
    const { error, entries } = await audited(async () => requestGrant(await request(admin)));
    expect(error).toMatchObject({ status: 403, reason: 'missing_permission' });
    expect(only(entries)).toMatchObject({
      action: 'grant.request',
      outcome: 'denied',
      actor: { staffId: admin.id },
      userId: userA,
      details: { reason: 'missing_permission', permission: 'grants:request' },
    });
  });
});

describe('deciding', () => {
  it('nobody approves their own request', async () => {
    const { grantId } = await requestGrant(await request(lead));
    const { error, entries } = await audited(async () =>
      decideGrant({ grantId, approver: await as(lead), decision: 'approve', comment: 'I need it' }),
    );
    expect(error).toMatchObject({ status: 403, reason: 'self_decision' });
    expect(only(entries)).toMatchObject({
      action: 'grant.approve',
      outcome: 'denied',
      grantId,
      details: { reason: 'self_decision' },
    });
    expect((await grantRow(grantId)).status).toBe('pending');
    const own = await listGrants({ view: 'to_decide', staff: await as(lead) });
    expect(own.rows.map((r) => r.id)).not.toContain(grantId);
  });

  it('an approver without grants:approve_sensitive cannot approve conversations', async () => {
    const { grantId } = await requestGrant(await request(agent));
    const { error, entries } = await audited(async () =>
      decideGrant({
        grantId,
        approver: await as(basicApprover),
        decision: 'approve',
        comment: 'Fine',
      }),
    );
    expect(error).toMatchObject({
      status: 403,
      reason: 'missing_permission',
      permission: 'grants:approve_sensitive',
    });
    expect(only(entries)).toMatchObject({
      action: 'grant.approve',
      outcome: 'denied',
      details: { reason: 'missing_permission', permission: 'grants:approve_sensitive' },
    });
    const queue = await listGrants({ view: 'to_decide', staff: await as(basicApprover) });
    expect(queue.rows.map((r) => r.id)).not.toContain(grantId);
  });

  it('the strictest category wins: profile + conversations needs both permissions', async () => {
    const { grantId } = await requestGrant(
      await request(agent, { categories: ['profile', 'conversations'] }),
    );
    await expect(
      decideGrant({
        grantId,
        approver: await as(officer),
        decision: 'approve',
        comment: 'Fine by me',
      }),
    ).rejects.toMatchObject({ reason: 'missing_permission', permission: 'grants:approve' });
    await expect(
      decideGrant({
        grantId,
        approver: await as(basicApprover),
        decision: 'approve',
        comment: 'Fine',
      }),
    ).rejects.toMatchObject({
      reason: 'missing_permission',
      permission: 'grants:approve_sensitive',
    });
    const done = await decideGrant({
      grantId,
      approver: await as(lead),
      decision: 'approve',
      comment: 'Fine',
    });
    expect(done.status).toBe('approved');
  });

  it('two approvals come from two different people', async () => {
    await updatePolicy({
      category: 'conversations',
      maxDurationMinutes: 60,
      approvalsNeeded: 2,
      approverPermission: 'grants:approve_sensitive',
      by: await as(admin),
    });
    try {
      const requester = await createStaffWithRoles(['support_agent']);
      const { grantId, approvalsNeeded } = await requestGrant(await request(requester));
      expect(approvalsNeeded).toBe(2);
      const first = await audited(async () =>
        decideGrant({
          grantId,
          approver: await as(lead),
          decision: 'approve',
          comment: 'First look ok',
        }),
      );
      expect(first.result).toMatchObject({ status: 'pending', approvals: 1, approvalsNeeded: 2 });
      expect(only(first.entries)).toMatchObject({
        action: 'grant.approve',
        outcome: 'allowed',
        details: { approvals: 1, needed: 2 },
      });
      expect(
        await findLiveGrant({ staffId: requester.id, userId: userA, category: 'conversations' }),
      ).toBeNull();

      const again = await audited(async () =>
        decideGrant({
          grantId,
          approver: await as(lead),
          decision: 'approve',
          comment: 'Once more',
        }),
      );
      expect(again.error).toMatchObject({ status: 409, reason: 'already_decided' });
      expect(only(again.entries)).toMatchObject({
        action: 'grant.approve',
        outcome: 'denied',
        details: { reason: 'already_decided' },
      });
      expect((await grantRow(grantId)).status).toBe('pending');
      const leadQueue = await listGrants({ view: 'to_decide', staff: await as(lead) });
      expect(leadQueue.rows.map((r) => r.id)).not.toContain(grantId);

      const second = await decideGrant({
        grantId,
        approver: await as(officer),
        decision: 'approve',
        comment: 'Second pair of eyes',
      });
      expect(second).toMatchObject({ status: 'approved', approvals: 2 });
    } finally {
      await updatePolicy({
        category: 'conversations',
        ...DEFAULT_GRANT_POLICIES.conversations,
        by: await as(admin),
      });
    }
  });

  it('a policy tightened after the request binds it', async () => {
    const { grantId, approvalsNeeded } = await requestGrant(await request(agent));
    expect(approvalsNeeded).toBe(1);
    await updatePolicy({
      category: 'conversations',
      maxDurationMinutes: 60,
      approvalsNeeded: 2,
      approverPermission: 'grants:approve_sensitive',
      by: await as(admin),
    });
    try {
      const first = await decideGrant({
        grantId,
        approver: await as(lead),
        decision: 'approve',
        comment: 'Looks right',
      });
      expect(first).toMatchObject({ status: 'pending', approvals: 1, approvalsNeeded: 2 });
    } finally {
      await updatePolicy({
        category: 'conversations',
        ...DEFAULT_GRANT_POLICIES.conversations,
        by: await as(admin),
      });
    }
  });

  it('a denial ends the request; a comment is required', async () => {
    const { grantId } = await requestGrant(await request(agent));
    const noComment = await audited(async () =>
      decideGrant({ grantId, approver: await as(lead), decision: 'deny', comment: '   ' }),
    );
    expect(noComment.error).toBeInstanceOf(GrantInputError);
    expect((noComment.error as GrantInputError).field).toBe('comment');
    expect(noComment.entries).toEqual([]);

    const denied = await audited(async () =>
      decideGrant({
        grantId,
        approver: await as(lead),
        decision: 'deny',
        comment: 'No ticket context',
      }),
    );
    expect(denied.result).toMatchObject({ status: 'denied' });
    expect(only(denied.entries)).toMatchObject({
      action: 'grant.deny',
      outcome: 'allowed',
      grantId,
    });
    await expect(
      decideGrant({
        grantId,
        approver: await as(officer),
        decision: 'approve',
        comment: 'Overrule',
      }),
    ).rejects.toMatchObject({ status: 409, reason: 'not_pending' });
    const notes = await listNotifications(await as(agent));
    expect(notes.rows.find((n) => n.grantId === grantId)?.kind).toBe('grant.denied');
    expect(await refusalOf({ staffId: agent.id, userId: userB, category: 'usage' })).toMatchObject({
      missing: 'none',
    });
  });

  it('the grant runs from approval, or from the requested start, for its duration', async () => {
    const grantId = await approved(agent2, { categories: ['usage'], durationMinutes: 20 });
    const row = await grantRow(grantId);
    expect(row.starts_at!.getTime()).toBe(clockAt);
    expect(row.ends_at!.getTime()).toBe(clockAt + 20 * MINUTE);

    const start = new Date(clockAt + 2 * HOUR);
    const later = await approved(agent2, {
      categories: ['preferences'],
      durationMinutes: 15,
      startsAt: start,
    });
    const scope = { staffId: agent2.id, userId: userA, category: 'preferences' as const };
    expect(await findLiveGrant(scope)).toBeNull();
    expect(await refusalOf(scope)).toMatchObject({
      missing: 'scheduled',
      grantId: later,
      at: start.toISOString(),
    });
    advance(2 * HOUR);
    expect(await findLiveGrant(scope)).toMatchObject({
      grantId: later,
      endsAt: new Date(start.getTime() + 15 * MINUTE),
    });
    advance(15 * MINUTE);
    // At ends_at exactly the grant is over, before any job has run.
    expect(await findLiveGrant(scope)).toBeNull();
    const refusal = await refusalOf(scope);
    expect(refusal).toMatchObject({ kind: 'grant', missing: 'expired' });
    expect(refusalReason(refusal.missing)).toBe('grant_expired');
  });
});

describe('a live grant covers its staff member, user and categories only', () => {
  it('not user B, not another category, not another staff member', async () => {
    const holder = await createStaffWithRoles(['support_agent']);
    const grantId = await approved(holder, { categories: ['conversations', 'profile'] });
    const live = await findLiveGrant({
      staffId: holder.id,
      userId: userA,
      category: 'conversations',
    });
    expect(live).toMatchObject({ grantId, breakGlass: false });
    expect(
      await findLiveGrant({ staffId: holder.id, userId: userA, category: 'profile' }),
    ).toMatchObject({ grantId });
    expect(
      await findLiveGrant({ staffId: holder.id, userId: userB, category: 'conversations' }),
    ).toBeNull();
    expect(
      await findLiveGrant({ staffId: holder.id, userId: userA, category: 'payments' }),
    ).toBeNull();
    expect(
      await findLiveGrant({ staffId: agent2.id, userId: userA, category: 'conversations' }),
    ).toBeNull();
    expect(
      await findLiveGrant({ staffId: lead.id, userId: userA, category: 'conversations' }),
    ).toBeNull();
    expect(
      await findLiveGrant({ staffId: holder.id, userId: 'not-a-uuid', category: 'profile' }),
    ).toBeNull();
    expect(
      await refusalOf({ staffId: holder.id, userId: userB, category: 'conversations' }),
    ).toMatchObject({ missing: 'none', userId: userB, category: 'conversations' });
    const overview = await liveGrantsFor({ staffId: holder.id, userId: userA });
    expect(overview.conversations?.grantId).toBeDefined();
    expect(overview.payments).toBeUndefined();
    await revokeGrant({ grantId, by: await as(holder) });
  });
});

describe('revoking', () => {
  it('takes effect at once, for the requester', async () => {
    const grantId = await approved(agent, { userId: userB, categories: ['profile'] });
    const scope = { staffId: agent.id, userId: userB, category: 'profile' as const };
    expect(await findLiveGrant(scope)).not.toBeNull();
    const { result, entries } = await audited(async () =>
      revokeGrant({ grantId, by: await as(agent) }),
    );
    expect(result).toMatchObject({ status: 'revoked', basis: 'requester' });
    expect(only(entries)).toMatchObject({
      action: 'grant.revoke',
      outcome: 'allowed',
      grantId,
      details: { basis: 'requester' },
    });
    expect(await findLiveGrant(scope)).toBeNull();
    expect(await refusalOf(scope)).toMatchObject({ missing: 'revoked', grantId });
    const again = await audited(async () => revokeGrant({ grantId, by: await as(agent) }));
    expect(again.error).toMatchObject({ status: 409, reason: 'not_active' });
    expect(only(again.entries)).toMatchObject({ action: 'grant.revoke', outcome: 'denied' });
  });

  it('by an approver of it, or a holder of grants:revoke_any; not by anyone else', async () => {
    const first = await approved(agent, { categories: ['usage'] }, lead2);
    const stranger = await audited(async () =>
      revokeGrant({ grantId: first, by: await as(agent2) }),
    );
    expect(stranger.error).toMatchObject({ status: 403, permission: 'grants:revoke_any' });
    expect(only(stranger.entries)).toMatchObject({
      action: 'grant.revoke',
      outcome: 'denied',
      details: { reason: 'missing_permission', permission: 'grants:revoke_any' },
    });
    // A lead who did not approve it is a stranger to it too.
    await expect(revokeGrant({ grantId: first, by: await as(lead) })).rejects.toMatchObject({
      status: 403,
    });
    expect(await revokeGrant({ grantId: first, by: await as(lead2) })).toMatchObject({
      basis: 'approver',
    });

    const second = await approved(agent, { categories: ['usage'] });
    expect(await revokeGrant({ grantId: second, by: await as(auditor) })).toMatchObject({
      basis: 'revoke_any',
    });
    const notes = await listNotifications({ staffId: agent.id, unreadOnly: true });
    expect(notes.rows.filter((n) => n.kind === 'grant.revoked').map((n) => n.grantId)).toEqual(
      expect.arrayContaining([first, second]),
    );
  });
});

describe('withdrawing a request', () => {
  it('only its requester, only while pending', async () => {
    const { grantId } = await requestGrant(await request(agent));
    await expect(cancelGrant({ grantId, by: await as(agent2) })).rejects.toMatchObject({
      reason: 'not_requester',
    });
    const { result, entries } = await audited(async () =>
      cancelGrant({ grantId, by: await as(agent) }),
    );
    expect(result).toEqual({ grantId, status: 'cancelled' });
    expect(only(entries)).toMatchObject({ action: 'grant.cancel', outcome: 'allowed' });
    await expect(
      decideGrant({ grantId, approver: await as(lead), decision: 'approve', comment: 'Too late' }),
    ).rejects.toMatchObject({ reason: 'not_pending' });
  });
});

describe('under concurrency', () => {
  it('one approver approving twice at once leaves one approval', async () => {
    await updatePolicy({
      category: 'profile',
      maxDurationMinutes: 60,
      approvalsNeeded: 2,
      approverPermission: 'grants:approve',
      by: await as(admin),
    });
    try {
      const { grantId } = await requestGrant(await request(agent2, { categories: ['profile'] }));
      const results = await Promise.allSettled(
        [1, 2].map(async () =>
          decideGrant({
            grantId,
            approver: await as(lead),
            decision: 'approve',
            comment: 'Approved',
          }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const rejected = results.find((r) => r.status === 'rejected');
      expect(rejected?.reason).toMatchObject({ reason: 'already_decided' });
      expect((await grantRow(grantId)).status).toBe('pending');
    } finally {
      await updatePolicy({
        category: 'profile',
        ...DEFAULT_GRANT_POLICIES.profile,
        by: await as(admin),
      });
    }
  });

  it('breaking glass twice at once gives one grant', async () => {
    const breaker = await createStaffWithRoles(['support_lead']);
    const results = await Promise.allSettled(
      [userA, userB].map(async (userId) =>
        breakGlass({
          staff: await as(breaker),
          userId,
          categories: ['profile'],
          justification: 'Two fraud alerts fired for related accounts at the same time',
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')?.reason).toMatchObject({
      reason: 'unreviewed_break_glass',
    });
  });
});

describe('expiry', () => {
  it('a request nobody decides within 24 hours expires; an approved grant expires at its end', async () => {
    await expireDue();
    const { grantId: stale } = await requestGrant(await request(agent2, { userId: userB }));
    const live = await approved(agent2, {
      userId: userB,
      categories: ['profile'],
      durationMinutes: 45,
    });
    advance(24 * HOUR);

    // Before the job runs, the clock already decides.
    const late = await audited(async () =>
      decideGrant({
        grantId: stale,
        approver: await as(lead),
        decision: 'approve',
        comment: 'Sorry, late',
      }),
    );
    expect(late.error).toMatchObject({ status: 409, reason: 'request_expired' });
    expect(only(late.entries)).toMatchObject({ action: 'grant.approve', outcome: 'denied' });
    expect(
      await findLiveGrant({ staffId: agent2.id, userId: userB, category: 'profile' }),
    ).toBeNull();

    const job = await audited(async () => expireDue());
    expect(job.result).toMatchObject({ pending: expect.any(Number), approved: expect.any(Number) });
    const mine = job.entries.filter((e) => [stale, live].includes((e as Entry).grantId ?? ''));
    expect(mine.map((e) => [(e as Entry).grantId, e.action, e.outcome, e.details])).toEqual(
      expect.arrayContaining([
        [stale, 'grant.expire', 'allowed', { from: 'pending' }],
        [live, 'grant.expire', 'allowed', { from: 'approved' }],
      ]),
    );
    expect(mine).toHaveLength(2);
    expect(job.entries.every((e) => e.action === 'grant.expire' && e.actor === null)).toBe(true);
    expect((await grantRow(stale)).status).toBe('expired');
    expect((await grantRow(live)).status).toBe('expired');
    const again = await audited(async () => expireDue());
    expect(again.result).toEqual({ pending: 0, approved: 0 });
    expect(again.entries).toEqual([]);
  });
});

describe('break-glass', () => {
  const emergency = {
    userId: userA,
    categories: ['conversations'] as DataCategory[],
    justification: 'Active account takeover reported by the fraud team right now',
  };

  it('needs grants:break_glass', async () => {
    const { error, entries } = await audited(async () =>
      breakGlass({ ...emergency, userId: userA, staff: await as(agent) }),
    );
    expect(error).toMatchObject({ status: 403, permission: 'grants:break_glass' });
    expect(only(entries)).toMatchObject({ action: 'grant.break_glass', outcome: 'denied' });
  });

  it('is live at once for at most an hour, flagged, alerts reviewers, and must be reviewed by someone else', async () => {
    await expect(
      breakGlass({ ...emergency, userId: userA, staff: await as(lead2), durationMinutes: 90 }),
    ).rejects.toMatchObject({ field: 'durationMinutes' });

    const { result, entries } = await audited(async () =>
      breakGlass({ ...emergency, userId: userA, staff: await as(lead2) }),
    );
    const grantId = result!.grantId;
    expect(result!.endsAt.getTime() - result!.startsAt.getTime()).toBe(60 * MINUTE);
    expect(only(entries)).toMatchObject({
      action: 'grant.break_glass',
      outcome: 'allowed',
      actor: { staffId: lead2.id },
      userId: userA,
      grantId,
      details: { categories: ['conversations'], durationMinutes: 60 },
    });
    expect(await grantRow(grantId)).toMatchObject({ status: 'approved', break_glass: true });
    expect(
      await findLiveGrant({ staffId: lead2.id, userId: userA, category: 'conversations' }),
    ).toMatchObject({ grantId, breakGlass: true });
    const alerted = await sql()<{ recipient_id: string }[]>`
      select recipient_id from console.notifications where grant_id = ${grantId}`;
    expect(alerted.map((n) => n.recipient_id).sort()).toEqual([auditor.id, auditor2.id].sort());

    const twice = await audited(async () =>
      breakGlass({ ...emergency, userId: userB, staff: await as(lead2) }),
    );
    expect(twice.error).toMatchObject({ status: 409, reason: 'unreviewed_break_glass' });
    expect(only(twice.entries)).toMatchObject({ action: 'grant.break_glass', outcome: 'denied' });

    await expect(reviewBreakGlass({ grantId, reviewer: await as(lead2) })).rejects.toMatchObject({
      reason: 'missing_permission',
    });
    await expect(reviewBreakGlass({ grantId, reviewer: await as(agent) })).rejects.toMatchObject({
      permission: 'security:review',
    });
    const unreviewed = await listGrants({
      view: 'history',
      staff: await as(auditor),
      filters: { unreviewed: true },
    });
    expect(unreviewed.rows.map((r) => r.id)).toContain(grantId);

    const review = await audited(async () =>
      reviewBreakGlass({
        grantId,
        reviewer: await as(auditor),
        comment: 'Confirmed with fraud team',
      }),
    );
    expect(only(review.entries)).toMatchObject({
      action: 'grant.review',
      outcome: 'allowed',
      actor: { staffId: auditor.id },
      grantId,
    });
    await expect(reviewBreakGlass({ grantId, reviewer: await as(auditor2) })).rejects.toMatchObject(
      {
        reason: 'already_reviewed',
      },
    );
    const next = await breakGlass({
      ...emergency,
      userId: userB,
      staff: await as(lead2),
      durationMinutes: 10,
    });
    expect(next.endsAt.getTime() - next.startsAt.getTime()).toBe(10 * MINUTE);
  });

  it('nobody reviews their own break-glass use', async () => {
    const { grantId } = await breakGlass({ ...emergency, userId: userA, staff: await as(auditor) });
    const { error, entries } = await audited(async () =>
      reviewBreakGlass({ grantId, reviewer: await as(auditor) }),
    );
    expect(error).toMatchObject({ status: 403, reason: 'self_review' });
    expect(only(entries)).toMatchObject({ action: 'grant.review', outcome: 'denied' });
    await reviewBreakGlass({ grantId, reviewer: await as(auditor2) });
  });
});

describe('disabling a staff account', () => {
  it('revokes its grants and withdraws its requests, each audited', async () => {
    const member = await createStaffWithRoles(['support_agent']);
    const live = await approved(member, { categories: ['profile'] });
    const { grantId: pending } = await requestGrant(await request(member));
    const { entries } = await audited(async () => disableStaff(member.id, await as(admin)));
    expect(entries.map((e) => [e.action, (e as Entry).grantId ?? null, e.details])).toEqual([
      ['staff.disable', null, {}],
      ['grant.revoke', live, { basis: 'staff_disabled' }],
      ['grant.cancel', pending, { reason: 'staff_disabled' }],
    ]);
    expect(await grantRow(live)).toMatchObject({
      status: 'revoked',
      revoke_basis: 'staff_disabled',
    });
    expect((await grantRow(pending)).status).toBe('cancelled');
    expect(
      await findLiveGrant({ staffId: member.id, userId: userA, category: 'profile' }),
    ).toBeNull();
  });
});

describe('the queues', () => {
  it('pages each queue by keyset, and shows each staff member what concerns them', async () => {
    const requester = await createStaffWithRoles(['support_agent']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      advance(1000);
      ids.push((await requestGrant(await request(requester, { categories: ['usage'] }))).grantId);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listGrants({
        view: 'mine',
        staff: await as(requester),
        cursor,
        limit: 2,
      });
      expect(page.rows.length).toBeLessThanOrEqual(2);
      seen.push(...page.rows.map((r) => r.id));
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const toDecide = await listGrants({
      view: 'to_decide',
      staff: await as(basicApprover),
      filters: { requesterId: requester.id },
    });
    expect(toDecide.rows.map((r) => r.id)).toEqual(ids);
    expect(toDecide.rows[0]).toMatchObject({ state: 'pending', approvals: 0, approvalsNeeded: 1 });

    await decideGrant({
      grantId: ids[0]!,
      approver: await as(basicApprover),
      decision: 'approve',
      comment: 'ok then',
    });
    const active = await listGrants({ view: 'active', staff: await as(basicApprover) });
    expect(active.rows.map((r) => r.id)).toEqual([ids[0]]);
    expect((await listGrants({ view: 'active', staff: await as(agent2) })).rows).toEqual([]);

    const history = await listGrants({
      view: 'history',
      staff: await as(auditor),
      filters: { requesterId: requester.id, state: 'pending' },
    });
    expect(history.rows.map((r) => r.id)).toEqual(ids.slice(1).reverse());
    const strangers = await listGrants({
      view: 'history',
      staff: await as(agent2),
      filters: { requesterId: requester.id },
    });
    expect(strangers.rows).toEqual([]);

    await expect(
      listGrants({ view: 'mine', staff: await as(requester), cursor: 'garbage' }),
    ).rejects.toMatchObject({ field: 'cursor' });

    const detail = await getGrant({ grantId: ids[0]!, viewer: await as(requester) });
    expect(detail?.decisions).toMatchObject([
      { approverId: basicApprover.id, decision: 'approve' },
    ]);
    expect(detail?.can).toEqual({ decide: false, revoke: true, cancel: false, review: false });
    expect(await getGrant({ grantId: ids[0]!, viewer: await as(agent2) })).toBeNull();
    const asLead = await getGrant({ grantId: ids[1]!, viewer: await as(lead) });
    expect(asLead?.can.decide).toBe(true);
  });
});

describe('notifications', () => {
  it('notify() alerts holders of a permission once per period; read marks', async () => {
    const since = at();
    const send = () =>
      notify({
        kind: 'lookup.limit',
        to: { holdersOf: ['security:review'] },
        subjectStaffId: agent.id,
        unlessSentSince: since,
      });
    expect(await send()).toBe(2);
    expect(await send()).toBe(0);
    const unread = await countUnread(auditor.id);
    const page = await listNotifications({ staffId: auditor.id, unreadOnly: true, limit: 1 });
    expect(page.rows[0]).toMatchObject({ kind: 'lookup.limit', subjectStaffId: agent.id });
    expect(page.next).toBeDefined();
    const rest = await listNotifications({
      staffId: auditor.id,
      unreadOnly: true,
      cursor: page.next,
    });
    expect(rest.rows.length).toBe(unread - 1);
    expect(await markNotificationsRead({ staffId: auditor.id, ids: [page.rows[0]!.id] })).toBe(1);
    expect(await countUnread(auditor.id)).toBe(unread - 1);
    expect(await markNotificationsRead(await as(auditor))).toBe(unread - 1);
    expect(await countUnread(auditor.id)).toBe(0);
  });
});

describe('grant policies', () => {
  it('only holders of policy:manage change them, audited either way', async () => {
    const change = {
      category: 'usage' as const,
      maxDurationMinutes: 240,
      approvalsNeeded: 1,
      approverPermission: 'grants:approve' as const,
    };
    const refused = await audited(async () => updatePolicy({ ...change, by: await as(lead) }));
    expect(refused.error).toMatchObject({ status: 403, permission: 'policy:manage' });
    expect(only(refused.entries)).toMatchObject({
      action: 'grant.policy_change',
      outcome: 'denied',
    });
    await expect(
      updatePolicy({ ...change, maxDurationMinutes: 600, by: await as(admin) }),
    ).rejects.toMatchObject({ field: 'maxDurationMinutes' });
    const ok = await audited(async () => updatePolicy({ ...change, by: await as(admin) }));
    expect(only(ok.entries)).toMatchObject({
      action: 'grant.policy_change',
      outcome: 'allowed',
      details: { category: 'usage', maxDurationMinutes: 240 },
    });
    await updatePolicy({ category: 'usage', ...DEFAULT_GRANT_POLICIES.usage, by: await as(admin) });
  });
});
