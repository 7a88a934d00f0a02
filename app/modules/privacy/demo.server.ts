import { getDb } from '#app/db/client.server.ts';
import { privacyRequests } from '#app/db/schema.ts';
import { commandLine, type Actor } from '#app/modules/actor.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { staffIdsByEmail } from '#app/modules/auth/staff.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { firstUsers } from '#app/modules/users/data.server.ts';
import { regimeOf } from './deadlines.server.ts';
import { setLegalHold } from './holds.server.ts';
import {
  askReviewGrant,
  createRequest,
  moveRequest,
  type NewRequest,
  type StepInput,
} from './requests.server.ts';
import { runWork } from './work.server.ts';
import type { Regime } from './vocabulary.ts';

// The demo's privacy requests, made through the real paths on the first start so the queue is
// alive: every type, most states, the three regimes, some overdue and some due soon. And every
// part seen working: a legal hold blocking an erasure, a rectification whose review grant waits
// for the second officer, an access request carried out by the real package code (its package
// ready), and a demo user made for the purpose (by the seed, which the caller hands in: the seed
// reads the privacy module's tombstones) and erased by the real erasure code, its certificate
// signed.

const DAY = 86_400_000;

interface DemoRequest {
  regime: Regime;
  request: Omit<NewRequest, 'userId'>;
  daysAgo: number;
  /** Moves after intake, by the first officer (`one`) or the second (`two`). */
  moves: [who: 'one' | 'two', StepInput][];
  /** A legal hold the first officer sets on the request's user, with its reason. */
  legalHold?: string;
  /** The first officer asks for a grant of the profile bound to the request (a rectification). */
  reviewGrant?: true;
  /** Started by the first officer and carried out now, by the work's own entry (runWork). */
  carryOut?: true;
}

const DEMO: DemoRequest[] = [
  { regime: 'gdpr', request: { type: 'access' }, daysAgo: 2, moves: [] },
  { regime: 'gdpr', request: { type: 'portability' }, daysAgo: 26, moves: [] },
  { regime: 'ccpa', request: { type: 'access' }, daysAgo: 50, moves: [] },
  {
    regime: 'gdpr',
    request: { type: 'erasure' },
    daysAgo: 10,
    moves: [
      [
        'one',
        { kind: 'propose', proposal: 'erasure', note: 'No hold; the user closed the account' },
      ],
    ],
  },
  {
    regime: 'ccpa',
    request: { type: 'erasure' },
    daysAgo: 5,
    moves: [
      ['one', { kind: 'propose', proposal: 'erasure', note: 'Verified through the product' }],
      ['two', { kind: 'approve' }],
    ],
  },
  {
    regime: 'service',
    request: { type: 'restriction', details: { purposes: ['training', 'marketing'] } },
    daysAgo: 3,
    moves: [['one', { kind: 'start' }]],
  },
  {
    regime: 'gdpr',
    request: {
      type: 'objection',
      details: { purposes: ['analytics'], grounds: 'I never agreed to being profiled.' },
    },
    daysAgo: 12,
    moves: [
      [
        'one',
        { kind: 'hold', reason: 'awaiting_information', note: 'Asked which analytics they mean' },
      ],
    ],
  },
  {
    regime: 'gdpr',
    request: { type: 'erasure' },
    daysAgo: 8,
    moves: [
      [
        'one',
        { kind: 'hold', reason: 'legal_hold', note: 'Litigation hold L-2026-17 on this account' },
      ],
    ],
    legalHold: 'Litigation hold L-2026-17: the account is evidence in a pending claim',
  },
  {
    regime: 'ccpa',
    request: {
      type: 'rectification',
      details: { changes: { display_name: 'Jordan <b>Q</b>. Public' } },
    },
    daysAgo: 40,
    moves: [],
    reviewGrant: true,
  },
  {
    regime: 'service',
    request: { type: 'access' },
    daysAgo: 20,
    moves: [
      [
        'one',
        {
          kind: 'propose',
          proposal: 'denial',
          note: 'Manifestly excessive: the fifth identical request this month',
        },
      ],
      ['two', { kind: 'approve' }],
    ],
  },
  {
    regime: 'gdpr',
    request: { type: 'portability' },
    daysAgo: 6,
    moves: [['one', { kind: 'cancel', note: 'The user withdrew the request by email' }]],
  },
  { regime: 'gdpr', request: { type: 'access', channel: 'letter' }, daysAgo: 1, moves: [] },
  { regime: 'gdpr', request: { type: 'access' }, daysAgo: 9, moves: [], carryOut: true },
];

/** The demo's erasure, of a user made for it: received 4 days ago, approved, carried out. */
const ERASURE_DAYS_AGO = 4;

/**
 * Seeds the demo requests once (when there are none and both demo officers exist); given a way to
 * make a product user, also one made for it and erased. Returns how many requests it made.
 */
export async function ensureDemoPrivacyRequests(
  options: { makeUser?: () => Promise<string> } = {},
) {
  const [any] = await getDb().select({ id: privacyRequests.id }).from(privacyRequests).limit(1);
  if (any) return 0;
  const ids = await staffIdsByEmail(['privacy@custodian.test', 'privacy2@custodian.test']);
  const oneId = ids.get('privacy@custodian.test');
  const twoId = ids.get('privacy2@custodian.test');
  if (!oneId || !twoId) return 0;
  const one = await staffActor(oneId);
  const two = await staffActor(twoId);
  const users = await firstUsers(400);
  const used = new Set<string>();
  const pick = (regime: Regime) => {
    const user =
      users.find((u) => !used.has(u.id) && regimeOf(u.country) === regime) ??
      users.find((u) => !used.has(u.id));
    if (user) used.add(user.id);
    return user;
  };
  const product = commandLine('seed: product API');
  let made = 0;
  for (const demo of DEMO) {
    const user = pick(demo.regime);
    if (!user) break;
    const staffEntered = Boolean(demo.request.channel);
    const { id } = await createRequest(
      { ...demo.request, userId: user.id },
      staffEntered ? one : product,
      { receivedAt: new Date(now().getTime() - demo.daysAgo * DAY) },
    );
    for (const [who, move] of demo.moves) {
      const actor = who === 'one' ? one : two;
      // The queue is not running yet on the first start: a move to processing queues no job
      // here, and privacy.resume (every minute) hands the request to a worker.
      if (move.kind === 'start') {
        await getDb().transaction((tx) => moveRequest(id, move, actor, { tx }));
      } else await moveRequest(id, move, actor);
    }
    if (demo.legalHold) await setLegalHold(user.id, demo.legalHold, one);
    if (demo.reviewGrant) await askReviewGrant(id, one);
    if (demo.carryOut) await carryOut(id, one);
    made += 1;
  }
  if (options.makeUser) {
    const userId = await options.makeUser();
    const { id } = await createRequest({ userId, type: 'erasure' }, product, {
      receivedAt: new Date(now().getTime() - ERASURE_DAYS_AGO * DAY),
    });
    await moveRequest(
      id,
      { kind: 'propose', proposal: 'erasure', note: 'Verified through the product; no hold' },
      one,
    );
    await moveRequest(id, { kind: 'approve' }, two);
    await carryOut(id, one);
    made += 1;
  }
  return made;
}

/**
 * Starts a request and carries it out at once, through the work's own entry: the move and the
 * work as the console's worker makes them, without waiting for the queue (not running yet on the
 * first start).
 */
async function carryOut(requestId: string, officer: Actor) {
  // In a transaction of its own, so the move queues no job: runWork does the work here.
  await getDb().transaction((tx) => moveRequest(requestId, { kind: 'start' }, officer, { tx }));
  const outcome = await runWork(requestId);
  if (outcome !== 'done') {
    process.stderr.write(`demo: the work of privacy request ${requestId} ended ${outcome}\n`);
  }
}
