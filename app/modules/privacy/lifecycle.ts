// The life of a privacy request: its states, the steps that move it, and who may take them.
// Browser-safe (the pages label states with it). The one function `step()` decides every move;
// the request's module applies what it returns in the transaction that records it (ADR 022).

import {
  FINAL_STATES,
  STATE_LABELS,
  type HoldReason,
  type Proposal,
  type RequestState,
  type RequestType,
} from './vocabulary.ts';

export {
  FINAL_STATES,
  HOLD_REASONS,
  PROPOSALS,
  REQUEST_STATES,
  REQUEST_TYPES,
  STATE_LABELS,
  type HoldReason,
  type Proposal,
  type RequestState,
  type RequestType,
} from './vocabulary.ts';

/** The part of a request the rules read. */
export interface RequestFacts {
  type: RequestType;
  state: RequestState;
  /** The state a hold interrupted, to resume to. */
  heldFrom: RequestState | null;
  holdReason: HoldReason | null;
  /** The proposal awaiting approval, and who made it. */
  proposal: Proposal | null;
  proposedBy: string | null;
}

export type Step =
  | { kind: 'verify' }
  | { kind: 'ask_verification' }
  | { kind: 'propose'; proposal: Proposal; by: string }
  | { kind: 'approve'; by: string }
  | { kind: 'reject'; by: string }
  | { kind: 'start' }
  | { kind: 'complete' }
  | { kind: 'fail' }
  | { kind: 'retry' }
  | { kind: 'hold'; reason: HoldReason }
  | { kind: 'resume' }
  | { kind: 'cancel' };

export type StepKind = Step['kind'];

export type StepResult = { ok: true; next: RequestFacts } | { ok: false; message: string };

const refuse = (message: string): StepResult => ({ ok: false, message });

/** States a hold may interrupt, and a cancellation end. Processing runs to its end or failure. */
const INTERRUPTIBLE: readonly RequestState[] = [
  'received',
  'verifying',
  'awaiting_approval',
  'approved',
  'failed',
];

/**
 * Whether this step is legal from this request's state and, if so, the request after it. Four
 * eyes: a proposal (an erasure, a denial) is decided by someone other than who proposed it; an
 * erasure starts only once approved; a denial ends the request only through approval.
 */
export function step(facts: RequestFacts, s: Step): StepResult {
  const at = facts.state;
  const to = (state: RequestState, more: Partial<RequestFacts> = {}): StepResult => ({
    ok: true,
    next: { ...facts, state, ...more },
  });
  if (FINAL_STATES.includes(at)) return refuse(`The request is ${STATE_LABELS[at].toLowerCase()}`);
  switch (s.kind) {
    case 'ask_verification':
      return at === 'received'
        ? to('verifying')
        : refuse('Only a received request can be sent for verification');
    case 'verify':
      return at === 'verifying'
        ? to('received')
        : refuse('The request is not awaiting verification');
    case 'propose':
      if (at !== 'received') return refuse('Only a received, verified request can be proposed');
      if (s.proposal === 'erasure' && facts.type !== 'erasure') {
        return refuse('Only an erasure request can be proposed for erasure');
      }
      return to('awaiting_approval', { proposal: s.proposal, proposedBy: s.by });
    case 'approve':
    case 'reject': {
      if (at !== 'awaiting_approval' || !facts.proposal) return refuse('Nothing awaits approval');
      if (s.by === facts.proposedBy) {
        return refuse('The one who proposed it cannot decide it: a second person must');
      }
      if (s.kind === 'reject') return to('received', { proposal: null, proposedBy: null });
      return facts.proposal === 'denial' ? to('denied') : to('approved');
    }
    case 'start':
      if (facts.type === 'erasure') {
        return at === 'approved'
          ? to('processing')
          : refuse('An erasure starts only once approved');
      }
      return at === 'received' ? to('processing') : refuse('Only a received request can start');
    case 'complete':
      return at === 'processing' ? to('completed') : refuse('The request is not processing');
    case 'fail':
      return at === 'processing' ? to('failed') : refuse('The request is not processing');
    case 'retry':
      return at === 'failed' ? to('processing') : refuse('Only a failed request can be retried');
    case 'hold':
      if (!INTERRUPTIBLE.includes(at)) {
        return refuse(`A request that is ${STATE_LABELS[at].toLowerCase()} cannot be put on hold`);
      }
      return to('on_hold', { heldFrom: at, holdReason: s.reason });
    case 'resume':
      if (at !== 'on_hold' || !facts.heldFrom) return refuse('The request is not on hold');
      return to(facts.heldFrom, { heldFrom: null, holdReason: null });
    case 'cancel':
      return INTERRUPTIBLE.includes(at) || at === 'on_hold'
        ? to('canceled', { heldFrom: null, holdReason: null })
        : refuse(`A request that is ${STATE_LABELS[at].toLowerCase()} cannot be canceled`);
  }
}

/** Whether the deadline's clock runs in this state: it pauses while the user is awaited. */
export function clockRuns(facts: Pick<RequestFacts, 'state' | 'holdReason'>): boolean {
  if (facts.state === 'verifying') return false;
  return !(facts.state === 'on_hold' && facts.holdReason === 'awaiting_information');
}
