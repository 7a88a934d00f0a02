import type postgres from 'postgres';
import {
  decideGrant,
  requestGrant,
  revokeGrant,
  type RequestGrantInput,
} from '#app/modules/access/grants.server.ts';
import { DEFAULT_ROLE_PERMISSIONS, type Role } from '#app/modules/auth/permissions.ts';
import { setStaffRoles } from '#app/modules/auth/staff.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { HOSTILE_VALUES } from '#app/modules/seed/texts.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { readConversation } from '#app/modules/users/data.server.ts';
import {
  REQUESTABLE_CATEGORIES,
  type DataCategory,
  type RequestableCategory,
} from '#app/modules/vocabulary.ts';
import { lastSeq, readAudit, type LoggedEntry } from '../support/audit.ts';
import { ownerUrl, testKeyRing, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
  pageText,
  actorOf,
} from '../support/http.ts';
import { inquiryFor, ownerConnection, plainUsers, type PlainUser } from './users-fixtures.ts';

// The access matrix (issue 4, laws 1–3): every role × every grant state × every data page and
// reveal, over HTTP, with the audit entry each request must leave. Grants are made through the
// access module (requested, decided by someone else, revoked), so each state is a real one.

useTestDatabase();

const MINUTE = 60_000;
// One clock for the file, only moved forward; the server under test reads the same one.
let clockAt = Date.now();
const restoreClock = setClock({ now: () => new Date(clockAt) });
afterAll(() => restoreClock());

const SUBJECTS = [
  'support_agent',
  'support_lead',
  'privacy_officer',
  'security_auditor',
  'admin',
  'no role',
] as const;
type Subject = (typeof SUBJECTS)[number];
const rolesOf = (subject: Subject): Role[] => (subject === 'no role' ? [] : [subject]);
const mayLookUp = (subject: Subject) =>
  rolesOf(subject).some((r) => DEFAULT_ROLE_PERMISSIONS[r].includes('users:lookup'));

const STATES = [
  'none',
  'pending',
  'live',
  'scheduled',
  'expired',
  'revoked',
  'denied',
  'for another user',
  'for another category',
] as const;
type State = (typeof STATES)[number];

/** What the refusal's audit entry names as missing, per state (`live` is not refused). */
const MISSING: Record<Exclude<State, 'live'>, string> = {
  none: 'no_grant',
  pending: 'grant_pending',
  scheduled: 'grant_scheduled',
  expired: 'grant_expired',
  revoked: 'grant_revoked',
  denied: 'grant_denied',
  'for another user': 'no_grant',
  'for another category': 'no_grant',
};

interface Target extends PlainUser {
  phone: string;
  conversationId: string;
  paymentId: string;
  last4: string;
}

type Cell =
  | { name: string; category: DataCategory; kind: 'page'; page: string }
  | { name: string; category: DataCategory; kind: 'reveal'; field: 'email' | 'phone' | 'last4' };

const CELLS: Cell[] = [
  ...REQUESTABLE_CATEGORIES.map((category): Cell => ({
    name: category,
    category,
    kind: 'page',
    page: category === 'profile' ? 'profile' : 'list',
  })),
  { name: 'conversation page', category: 'conversations', kind: 'page', page: 'conversation' },
  { name: 'reveal email', category: 'profile', kind: 'reveal', field: 'email' },
  { name: 'reveal phone', category: 'profile', kind: 'reveal', field: 'phone' },
  { name: 'reveal last four', category: 'payments', kind: 'reveal', field: 'last4' },
];

const CATEGORY_ROUTE = encodeURIComponent('routes/users.$id.$category');
const fieldOf = (cell: Cell & { kind: 'reveal' }, user: Target) =>
  cell.field === 'last4' ? `last4:${user.paymentId}` : cell.field;
const pathOf = (cell: Cell, user: Target) =>
  cell.kind === 'reveal'
    ? `/users/${user.id}/${cell.category}`
    : cell.page === 'conversation'
      ? `/users/${user.id}/conversations/${user.conversationId}`
      : `/users/${user.id}/${cell.category}`;

/** The one request a cell makes: a page GET, or a reveal POST as the page's fetcher sends it. */
function send(cookie: string, cell: Cell, user: Target) {
  const path = pathOf(cell, user);
  return cell.kind === 'reveal'
    ? postForm(cookie, `${path}?_data=${CATEGORY_ROUTE}`, {
        intent: 'reveal',
        field: fieldOf(cell, user),
      })
    : fetchAs(cookie, path);
}

let server: TestServer;
let owner: postgres.Sql;
let targets: Target[];
let approver: TestStaff;
let securityAuditor: TestStaff;

const JUSTIFICATION = 'The user wrote in about a problem with their account and asked for help';

async function ask(staff: TestStaff, userId: string, categories: DataCategory[], more = {}) {
  const input: RequestGrantInput = {
    requester: await actorOf(staff),
    userId,
    categories,
    reasonCode: 'support_inquiry',
    justification: JUSTIFICATION,
    ticketRef: 'SUP-4711',
    durationMinutes: 60,
    ...more,
  };
  // A support_inquiry grant names an open inquiry of the user assigned to the requester.
  if (input.reasonCode === 'support_inquiry' && !input.inquiryId) {
    input.inquiryId = await inquiryFor(staff.id, userId);
  }
  return requestGrant(input).then((r) => r.grantId);
}

const decide = async (grantId: string, decision: 'approve' | 'deny') =>
  decideGrant({
    grantId,
    approver: await actorOf(approver),
    decision,
    comment: decision === 'approve' ? 'Checked the ticket' : 'Not needed for this ticket',
  });

async function approved(staff: TestStaff, userId: string, categories: DataCategory[], more = {}) {
  const grantId = await ask(staff, userId, categories, more);
  await decide(grantId, 'approve');
  return grantId;
}

/** The users the states are about; each has a phone, a payment reference and a conversation. */
async function loadTargets(): Promise<Target[]> {
  const users = await plainUsers(owner);
  const extra = await owner<{ user_id: string; conversation_id: string; payment_id: string }[]>`
    select u.id as user_id,
           (select c.id from product.conversations c where c.user_id = u.id
            order by c.id limit 1) as conversation_id,
           (select p.id from product.payment_references p where p.user_id = u.id
            order by p.id limit 1) as payment_id
    from product.users u`;
  const last4s = await owner<{ id: string; last4: string }[]>`
    select id, last4 from product.payment_references`;
  const byUser = new Map(extra.map((r) => [r.user_id, r]));
  const last4 = new Map(last4s.map((r) => [r.id, r.last4]));
  const out: Target[] = [];
  for (const u of users) {
    const more = byUser.get(u.id);
    if (!more?.conversation_id || !more.payment_id || u.phone === null) continue;
    if ((HOSTILE_VALUES as readonly string[]).includes(u.displayName)) continue;
    out.push({
      ...u,
      phone: u.phone,
      conversationId: more.conversation_id,
      paymentId: more.payment_id,
      last4: last4.get(more.payment_id)!,
    });
  }
  return out;
}

// Target users by state; "for another category" has one user per category (a grant covering
// every category but that one) and "for another user" a grant on GRANTED_ELSEWHERE.
const STATE_USER: Record<Exclude<State, 'for another category'>, number> = {
  none: 0,
  pending: 1,
  live: 2,
  scheduled: 3,
  expired: 4,
  revoked: 5,
  denied: 6,
  'for another user': 7,
};
const GRANTED_ELSEWHERE = 8;
const OTHER_CATEGORY_BASE = 9;
const targetOf = (state: State, category: DataCategory) =>
  targets[
    state === 'for another category'
      ? OTHER_CATEGORY_BASE + REQUESTABLE_CATEGORIES.indexOf(category as RequestableCategory)
      : STATE_USER[state]
  ]!;

interface Member extends TestStaff {
  subject: Subject;
  cookie: string;
  live: string;
  /** The grant a refusal concerns, by state: the one the gate found and refused. */
  refused: Partial<Record<State, string>>;
}
const members = new Map<Subject, Member>();

/** One staff member holding every state at once, each on its own user. */
async function stateHolder(subject: Subject): Promise<Member> {
  // Admins and staff without a role may not request grants: theirs were made while they were
  // agents, and their roles changed since (law 1 must still refuse them).
  const canRequest = mayLookUp(subject);
  // Every role but the agent's needs a second factor (ADR 035): enrolled from the start, so the
  // roles given later do not hold the session to /account/security.
  const needsFactor = rolesOf(subject).some((r) => r !== 'support_agent');
  const staff = await createStaffWithRoles(
    canRequest ? rolesOf(subject) : ['support_agent'],
    needsFactor ? { secondFactor: true } : {},
  );
  const u = (i: number) => targets[i]!.id;
  const pending = await ask(staff, u(STATE_USER.pending), [...REQUESTABLE_CATEGORIES]);
  const live = await approved(staff, u(STATE_USER.live), [...REQUESTABLE_CATEGORIES]);
  const scheduled = await approved(staff, u(STATE_USER.scheduled), [...REQUESTABLE_CATEGORIES], {
    startsAt: new Date(clockAt + 3 * 60 * MINUTE),
  });
  const expired = await approved(staff, u(STATE_USER.expired), [...REQUESTABLE_CATEGORIES], {
    durationMinutes: 5,
  });
  const revoked = await approved(staff, u(STATE_USER.revoked), [...REQUESTABLE_CATEGORIES]);
  await revokeGrant({ grantId: revoked, by: await actorOf(securityAuditor) });
  const denied = await ask(staff, u(STATE_USER.denied), [...REQUESTABLE_CATEGORIES]);
  await decide(denied, 'deny');
  await approved(staff, u(GRANTED_ELSEWHERE), [...REQUESTABLE_CATEGORIES]);
  for (const [i, category] of REQUESTABLE_CATEGORIES.entries()) {
    const others = REQUESTABLE_CATEGORIES.filter((c) => c !== category);
    await approved(staff, u(OTHER_CATEGORY_BASE + i), others);
  }
  if (!canRequest) {
    // The command line gives roles at once; an admin's would wait for a second person (ADR 021).
    await setStaffRoles(staff.id, rolesOf(subject), commandLine('test'));
  }
  return {
    ...staff,
    subject,
    live,
    refused: { pending, scheduled, expired, revoked, denied },
    cookie: await signInAs(server.baseUrl, staff.email, staff.password),
  };
}

interface Projected {
  action: string;
  outcome: string;
  userId: string | null;
  grantId: string | null;
  purpose: string | null;
  details: Record<string, unknown>;
}
type Entry = LoggedEntry & { grantId: string | null; purpose: string | null };
const project = (e: Entry | undefined): Projected | undefined =>
  e && {
    action: e.action,
    outcome: e.outcome,
    userId: e.userId,
    grantId: e.grantId,
    purpose: e.purpose,
    details: e.details,
  };

const DATA_ACTIONS = new Set(['user.view', 'user.reveal', 'access.denied']);
let seen = -1;
/** This staff member's views, reveals and refusals since the last call, oldest first. */
async function entriesOf(staffId: string): Promise<Entry[]> {
  const entries = (await readAudit(seen)) as Entry[];
  seen = entries.at(-1)?.seq ?? seen;
  return entries.filter((e) => e.actor?.staffId === staffId && DATA_ACTIONS.has(e.action));
}

beforeAll(async () => {
  await seedProductData(ownerUrl(), testKeyRing, {
    users: 400,
    messagesPerUser: 4,
    eventsPerUser: 3,
    seed: 11,
    append: false,
    workers: 0,
  });
  owner = ownerConnection();
  targets = await loadTargets();
  if (targets.length < OTHER_CATEGORY_BASE + REQUESTABLE_CATEGORIES.length + 2) {
    throw new Error(`the seed gave only ${targets.length} users with every kind of data`);
  }
  server = await startTestServer();
  [approver, securityAuditor] = await Promise.all([
    createStaffWithRoles(['support_lead']),
    createStaffWithRoles(['security_auditor']),
  ]);
  for (const subject of SUBJECTS) members.set(subject, await stateHolder(subject));
  // Past the 5-minute grant's end, before the scheduled one's start, inside the others.
  clockAt += 10 * MINUTE;
});

// Each test reads the entries its own requests wrote, whatever an earlier one left unread.
beforeEach(async () => {
  seen = await lastSeq();
});

afterAll(async () => {
  await owner?.end();
  await server?.close();
});

describe.each(SUBJECTS)('%s', (subject) => {
  it.each(STATES)(
    'with a grant state of "%s": each page and reveal, and its audit entry',
    async (state) => {
      const me = members.get(subject)!;
      const allowed = state === 'live' && mayLookUp(subject);
      const got: { cell: string; status: number; shows: string; entry?: Projected }[] = [];
      const want: typeof got = [];
      for (const cell of CELLS) {
        const user = targetOf(state, cell.category);
        const response = await send(me.cookie, cell, user);
        const body = await pageText(response);
        const path = pathOf(cell, user);
        const leaks = [user.email, user.displayName, user.phone].filter((v) => body.includes(v));
        let shows = leaks.length ? 'personal data' : 'nothing personal';
        if (allowed && cell.kind === 'reveal') {
          const value = (JSON.parse(body) as { value: string | null }).value;
          const expected =
            cell.field === 'email' ? user.email : cell.field === 'phone' ? user.phone : user.last4;
          shows = value === expected ? `the ${cell.field}` : `not the ${cell.field}: ${value}`;
        } else if (allowed) {
          const banner = new RegExp(
            `Shown under grant <code[^>]*title="${me.live}">${me.live.slice(0, 8)}</code>`,
          ).test(body);
          shows = banner ? 'the page under its grant' : 'a page without its grant banner';
        }
        got.push({ cell: cell.name, status: response.status, shows });

        const details: Record<string, unknown> = !mayLookUp(subject)
          ? { reason: 'missing_permission', permission: 'users:lookup', route: path }
          : !allowed
            ? {
                reason: `${MISSING[state as Exclude<State, 'live'>]}:${cell.category}`,
                route: path,
              }
            : cell.kind === 'reveal'
              ? { category: cell.category, field: fieldOf(cell, user) }
              : {
                  category: cell.category,
                  page:
                    cell.page === 'conversation'
                      ? `conversation:${user.conversationId}`
                      : cell.page,
                };
        const entry: Projected = allowed
          ? {
              action: cell.kind === 'reveal' ? 'user.reveal' : 'user.view',
              outcome: 'allowed',
              userId: user.id,
              grantId: me.live,
              purpose: 'support_inquiry',
              details,
            }
          : {
              action: 'access.denied',
              outcome: 'denied',
              userId: mayLookUp(subject) ? user.id : null,
              // A refusal records the grant it concerned (issue 13), so a search by grant finds it.
              grantId: mayLookUp(subject) ? (me.refused[state] ?? null) : null,
              purpose: null,
              details,
            };
        want.push({
          cell: cell.name,
          status: allowed ? 200 : 403,
          shows: !allowed
            ? 'nothing personal'
            : cell.kind === 'reveal'
              ? `the ${cell.field}`
              : 'the page under its grant',
          entry,
        });
      }
      const entries = await entriesOf(me.id);
      got.forEach((g, i) => (g.entry = project(entries[i])));
      expect(got).toEqual(want);
      expect(entries).toHaveLength(CELLS.length);
    },
  );
});

describe('a grant for user A used on user B (the id changed in the URL)', () => {
  let me: Member;
  let a: Target;
  let b: Target;
  beforeAll(() => {
    me = members.get('support_agent')!;
    a = targets[STATE_USER.live]!;
    b = targets[STATE_USER.none]!;
  });

  it('opens none of B’s pages, B’s conversation under A’s id, or A’s under B’s', async () => {
    const paths = [
      ...REQUESTABLE_CATEGORIES.map((c) => `/users/${b.id}/${c}`),
      `/users/${b.id}/conversations/${b.conversationId}`,
      `/users/${b.id}/conversations/${a.conversationId}`,
    ];
    for (const path of paths) {
      const response = await fetchAs(me.cookie, path);
      expect(response.status, path).toBe(403);
      const body = await pageText(response);
      for (const value of [b.email, b.displayName, b.phone, a.displayName]) {
        expect(body).not.toContain(value);
      }
    }
    const refusals = await entriesOf(me.id);
    expect(refusals.map((e) => [e.action, e.outcome, e.userId, e.details.route])).toEqual(
      paths.map((path) => ['access.denied', 'denied', b.id, path]),
    );

    // A's grant with B's conversation in the address: the conversation is not A's, so nothing.
    const bConversation = await readConversation(b.id, b.conversationId);
    const crossed = await fetchAs(me.cookie, `/users/${a.id}/conversations/${b.conversationId}`);
    expect(crossed.status).toBe(404);
    const body = await pageText(crossed);
    expect(body).not.toContain(bConversation!.title);
    for (const m of bConversation!.messages) expect(body).not.toContain(m.content);
    // Recorded as what it was: an attempt on A's data under A's grant; nothing names B.
    const crossedEntries = await entriesOf(me.id);
    expect(crossedEntries.map((e) => [e.action, e.userId, e.grantId, e.details.page])).toEqual([
      ['user.view', a.id, me.live, `conversation:${b.conversationId}`],
    ]);
  });

  it('reveals none of B’s fields, through B’s id or through A’s', async () => {
    const viaB = await postForm(me.cookie, `/users/${b.id}/profile?_data=${CATEGORY_ROUTE}`, {
      intent: 'reveal',
      field: 'email',
    });
    expect(viaB.status).toBe(403);
    expect(await viaB.text()).not.toContain(b.email);
    // B's payment reference named under A's id, where A's grant is live: the row is not A's.
    const viaA = await postForm(me.cookie, `/users/${a.id}/payments?_data=${CATEGORY_ROUTE}`, {
      intent: 'reveal',
      field: `last4:${b.paymentId}`,
    });
    expect(viaA.status).toBe(200);
    expect(await viaA.json()).toEqual({ field: `last4:${b.paymentId}`, value: null });
    const entries = await entriesOf(me.id);
    expect(entries.map((e) => [e.action, e.outcome, e.userId])).toEqual([
      ['access.denied', 'denied', b.id],
      ['user.reveal', 'allowed', a.id],
    ]);
    expect(entries.filter((e) => e.outcome === 'allowed' && e.userId === b.id)).toEqual([]);
  });
});

describe('revocation takes effect on the very next request', () => {
  it.each([
    ['its requester', 'requester'],
    ['its approver', 'approver'],
    ['a security auditor', 'revoke_any'],
  ] as const)('revoked by %s', async (_, basis) => {
    const staff = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, staff.email, staff.password);
    const user = targets[STATE_USER.live]!;
    const grantId = await approved(staff, user.id, ['profile', 'conversations']);
    const conversation = `/users/${user.id}/conversations/${user.conversationId}`;
    expect((await fetchAs(cookie, `/users/${user.id}/profile`)).status).toBe(200);
    expect((await fetchAs(cookie, conversation)).status).toBe(200);

    const by = basis === 'requester' ? staff : basis === 'approver' ? approver : securityAuditor;
    const revoked = await revokeGrant({ grantId, by: await actorOf(by) });
    expect(revoked.basis).toBe(basis);

    const profile = await fetchAs(cookie, `/users/${user.id}/profile`);
    expect(profile.status).toBe(403);
    expect(await pageText(profile)).toContain('Your grant to this data was revoked.');
    expect((await fetchAs(cookie, conversation)).status).toBe(403);
    const reveal = await postForm(cookie, `/users/${user.id}/profile?_data=${CATEGORY_ROUTE}`, {
      intent: 'reveal',
      field: 'email',
    });
    expect(reveal.status).toBe(403);
    const entries = await entriesOf(staff.id);
    expect(entries.map((e) => [e.action, e.outcome, e.grantId, e.details.reason])).toEqual([
      ['user.view', 'allowed', grantId, undefined],
      ['user.view', 'allowed', grantId, undefined],
      ['access.denied', 'denied', grantId, 'grant_revoked:profile'],
      ['access.denied', 'denied', grantId, 'grant_revoked:conversations'],
      ['access.denied', 'denied', grantId, 'grant_revoked:profile'],
    ]);
  });
});

describe('expiry on the injected clock', () => {
  it('a grant opens pages until the millisecond before its end and none from its end on', async () => {
    const staff = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, staff.email, staff.password);
    const user = targets[STATE_USER.live]!;
    const grantId = await ask(staff, user.id, ['profile'], { durationMinutes: 5 });
    const { endsAt } = await decide(grantId, 'approve');
    const end = endsAt!.getTime();
    const profile = `/users/${user.id}/profile`;

    // The clock goes back where the other tests expect it, whatever this one's outcome.
    const before = clockAt;
    onTestFinished(() => {
      clockAt = before;
    });
    clockAt = end - 1;
    expect((await fetchAs(cookie, profile)).status).toBe(200);
    clockAt = end;
    const after = await fetchAs(cookie, profile);
    expect(after.status).toBe(403);
    expect(await pageText(after)).toContain('Your grant to this data has expired.');
    const reveal = await postForm(cookie, `${profile}?_data=${CATEGORY_ROUTE}`, {
      intent: 'reveal',
      field: 'email',
    });
    expect(reveal.status).toBe(403);
    expect(await reveal.text()).not.toContain(user.email);

    // No job had to run: the grant is still stored as approved, and its end alone refused it.
    const [row] = await owner<{ status: string }[]>`
      select status from console.grants where id = ${grantId}`;
    expect(row!.status).toBe('approved');
    const entries = await entriesOf(staff.id);
    expect(entries.map((e) => [e.action, e.outcome, e.grantId, e.details.reason])).toEqual([
      ['user.view', 'allowed', grantId, undefined],
      ['access.denied', 'denied', grantId, 'grant_expired:profile'],
      ['access.denied', 'denied', grantId, 'grant_expired:profile'],
    ]);
  });
});
