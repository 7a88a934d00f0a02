import fc from 'fast-check';
import {
  clockRuns,
  FINAL_STATES,
  REQUEST_STATES,
  REQUEST_TYPES,
  step,
  type RequestFacts,
  type RequestState,
  type RequestType,
  type Step,
} from './lifecycle.ts';

const fresh = (type: RequestType, state: RequestState = 'received'): RequestFacts => ({
  type,
  state,
  heldFrom: null,
  holdReason: null,
  proposal: null,
  proposedBy: null,
});

/** The moves the lifecycle allows, written out once by hand: [from, step kind, to]. */
const LEGAL: ReadonlyArray<readonly [RequestState, Step['kind'], RequestState | 'held-from']> = [
  ['received', 'ask_verification', 'verifying'],
  ['verifying', 'verify', 'received'],
  ['received', 'propose', 'awaiting_approval'],
  ['awaiting_approval', 'approve', 'approved'],
  ['awaiting_approval', 'approve', 'denied'],
  ['awaiting_approval', 'reject', 'received'],
  ['received', 'start', 'processing'],
  ['approved', 'start', 'processing'],
  ['processing', 'complete', 'completed'],
  ['processing', 'fail', 'failed'],
  ['failed', 'retry', 'processing'],
  ...(['received', 'verifying', 'awaiting_approval', 'approved', 'failed'] as const).flatMap(
    (from) =>
      [
        [from, 'hold', 'on_hold'],
        [from, 'cancel', 'canceled'],
      ] as const,
  ),
  ['on_hold', 'resume', 'held-from'],
  ['on_hold', 'cancel', 'canceled'],
];

const staff = fc.constantFrom('officer-a', 'officer-b');
const anyStep: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'verify' }),
  fc.constant<Step>({ kind: 'ask_verification' }),
  fc.record({
    kind: fc.constant('propose' as const),
    proposal: fc.constantFrom('erasure' as const, 'denial' as const),
    by: staff,
  }),
  fc.record({ kind: fc.constant('approve' as const), by: staff }),
  fc.record({ kind: fc.constant('reject' as const), by: staff }),
  fc.constant<Step>({ kind: 'start' }),
  fc.constant<Step>({ kind: 'complete' }),
  fc.constant<Step>({ kind: 'fail' }),
  fc.constant<Step>({ kind: 'retry' }),
  fc.record({
    kind: fc.constant('hold' as const),
    reason: fc.constantFrom('legal_hold' as const, 'awaiting_information' as const),
  }),
  fc.constant<Step>({ kind: 'resume' }),
  fc.constant<Step>({ kind: 'cancel' }),
);

describe('the lifecycle of a privacy request', () => {
  test('random sequences of steps: every accepted move is a legal one, and every rule holds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REQUEST_TYPES),
        fc.array(anyStep, { maxLength: 40 }),
        (type, steps) => {
          let facts = fresh(type);
          const seen: RequestState[] = [facts.state];
          for (const s of steps) {
            const result = step(facts, s);
            if (!result.ok) {
              expect(result.message).toMatch(/\w/);
              continue;
            }
            const { next } = result;
            const legal = LEGAL.some(
              ([from, kind, to]) =>
                from === facts.state &&
                kind === s.kind &&
                (to === 'held-from' ? next.state === facts.heldFrom : next.state === to),
            );
            expect(legal, `${facts.state} --${s.kind}--> ${next.state}`).toBe(true);
            // Nothing leaves a final state.
            expect(FINAL_STATES).not.toContain(facts.state);
            // Four eyes: a decision is never taken by whoever proposed it.
            if (s.kind === 'approve' || s.kind === 'reject')
              expect(s.by).not.toBe(facts.proposedBy);
            // A denial ends a request only through a second person's approval.
            if (next.state === 'denied') {
              expect(s.kind).toBe('approve');
              expect(facts.proposal).toBe('denial');
            }
            // An erasure is processed only after approval of an erasure proposal.
            if (type === 'erasure' && next.state === 'processing' && s.kind === 'start') {
              expect(facts.state).toBe('approved');
            }
            facts = next;
            seen.push(facts.state);
          }
          if (type === 'erasure' && seen.includes('processing')) expect(seen).toContain('approved');
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('each state answers each step: legal ones move, the others are refused with a reason', () => {
    for (const state of REQUEST_STATES) {
      const facts: RequestFacts = {
        ...fresh('erasure', state),
        heldFrom: state === 'on_hold' ? 'received' : null,
        holdReason: state === 'on_hold' ? 'legal_hold' : null,
        proposal: state === 'awaiting_approval' ? 'erasure' : null,
        proposedBy: state === 'awaiting_approval' ? 'officer-a' : null,
      };
      const result = step(facts, { kind: 'complete' });
      expect(result.ok).toBe(state === 'processing');
    }
  });

  test('the proposer cannot decide their own proposal', () => {
    const proposed = step(fresh('erasure'), { kind: 'propose', proposal: 'erasure', by: 'a' });
    if (!proposed.ok) throw new Error(proposed.message);
    expect(step(proposed.next, { kind: 'approve', by: 'a' })).toEqual({
      ok: false,
      message: 'The one who proposed it cannot decide it: a second person must',
    });
    expect(step(proposed.next, { kind: 'approve', by: 'b' })).toMatchObject({
      ok: true,
      next: { state: 'approved' },
    });
  });

  test('an erasure cannot start before approval; other types start from received', () => {
    expect(step(fresh('erasure'), { kind: 'start' }).ok).toBe(false);
    expect(step(fresh('access'), { kind: 'start' })).toMatchObject({
      next: { state: 'processing' },
    });
    expect(step(fresh('access'), { kind: 'propose', proposal: 'erasure', by: 'a' }).ok).toBe(false);
  });

  test('a hold resumes to the state it interrupted; processing cannot be held or canceled', () => {
    const held = step(fresh('access', 'approved'), { kind: 'hold', reason: 'legal_hold' });
    if (!held.ok) throw new Error(held.message);
    expect(held.next).toMatchObject({ state: 'on_hold', heldFrom: 'approved' });
    expect(step(held.next, { kind: 'resume' })).toMatchObject({
      next: { state: 'approved', heldFrom: null, holdReason: null },
    });
    expect(step(fresh('access', 'processing'), { kind: 'hold', reason: 'legal_hold' }).ok).toBe(
      false,
    );
    expect(step(fresh('access', 'processing'), { kind: 'cancel' }).ok).toBe(false);
  });

  test('the clock pauses while identity or information is awaited, not under a legal hold', () => {
    expect(clockRuns({ state: 'verifying', holdReason: null })).toBe(false);
    expect(clockRuns({ state: 'on_hold', holdReason: 'awaiting_information' })).toBe(false);
    expect(clockRuns({ state: 'on_hold', holdReason: 'legal_hold' })).toBe(true);
    expect(clockRuns({ state: 'received', holdReason: null })).toBe(true);
  });
});
