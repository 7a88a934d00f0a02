import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { PackagePanel } from '#app/components/privacy/package-panel.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { ShortId } from '#app/components/short-id.tsx';
import { Time } from '#app/components/time.tsx';
import { requires } from '#app/modules/auth/access.ts';
import { inquiryOfRequest } from '#app/modules/inquiries/inquiries.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { REGIME_RULES } from '#app/modules/privacy/deadlines.server.ts';
import { packageView } from '#app/modules/privacy/package.server.ts';
import { erasureManifest } from '#app/modules/privacy/erasure.server.ts';
import { holdsOfUser, liftLegalHold, setLegalHold } from '#app/modules/privacy/holds.server.ts';
import { step, type RequestFacts } from '#app/modules/privacy/lifecycle.ts';
import {
  askReviewGrant,
  assignRequest,
  extendRequest,
  getRequest,
  moveRequest,
  purposeGrants,
  reviewRectification,
  type StepInput,
} from '#app/modules/privacy/requests.server.ts';
import { RequestActionSchema as ActionSchema } from '#app/modules/privacy/input.server.ts';
import { mailConfigured, messagesOfRequest } from '#app/modules/privacy/outbox.server.ts';
import {
  OFFICER_MOVES,
  STATE_LABELS,
  TYPE_LABELS,
  USER_MESSAGE_LABELS,
  VERIFICATION_METHOD_LABELS,
  VERIFICATION_METHODS,
  type HoldReason,
  type Proposal,
  type RequestState,
  type RequestType,
} from '#app/modules/privacy/vocabulary.ts';
import { ConflictError, ForbiddenError, InputError } from '#app/utils/errors.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

export const access = requires('privacy:process', { writesOnGet: true });

export const meta: MetaFunction = () => [{ title: 'Privacy request · Custodian' }];

const OFFICER_STEPS = OFFICER_MOVES;

/** How the identity was verified, in words: the officers' methods and the product's own. */
const VERIFIED_BY: Record<string, string> = {
  ...VERIFICATION_METHOD_LABELS,
  product_session: 'the user was signed in to the product',
  product_confirmation: 'the user confirmed it in the product',
  staff_evidence: 'evidence recorded by staff',
};

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const { request, events } = await getRequest(args.params.requestId ?? '').catch(answer);
  const messages = await messagesOfRequest(request.id);
  const facts: RequestFacts = {
    type: request.type as RequestType,
    state: request.state as RequestState,
    heldFrom: request.heldFrom as RequestState | null,
    holdReason: request.holdReason as HoldReason | null,
    proposal: request.proposal as Proposal | null,
    proposedBy: request.proposedBy,
  };
  // What the page offers: the moves step() allows now, for this officer.
  const by = me.staffId;
  const offered = OFFICER_STEPS.filter((kind) => {
    if ((kind === 'approve' || kind === 'reject') && !me.permissions.has('privacy:approve')) {
      return false;
    }
    const probe =
      kind === 'propose'
        ? step(facts, { kind, proposal: 'denial', by })
        : kind === 'approve' || kind === 'reject'
          ? step(facts, { kind, by })
          : kind === 'hold'
            ? step(facts, { kind, reason: 'legal_hold' })
            : step(facts, { kind });
    return probe.ok;
  });
  const [holds, manifest] = await Promise.all([
    holdsOfUser(request.userId),
    request.type === 'erasure' ? erasureManifest(request.id) : null,
  ]);
  // A rectification's diff: values only under a live grant of the profile (an audited view).
  const [review, grants] =
    request.type === 'rectification'
      ? await Promise.all([reviewRectification(request.id, me), purposeGrants(request.id)])
      : [null, []];
  const at = now().getTime();
  // The inquiry this request was made from, if any (ADR 034): linked both ways.
  const fromInquiry = await inquiryOfRequest(request.id);
  return json({
    fromInquiry,
    holds: holds.map((h) => ({
      id: h.id,
      reason: h.reason,
      setAt: h.setAt.toISOString(),
      setByName: h.setByName,
      liftedAt: h.liftedAt?.toISOString() ?? null,
      liftReason: h.liftReason,
      liftedByName: h.liftedByName,
    })),
    manifest: manifest && {
      ...manifest,
      keyDestroyedAt: manifest.keyDestroyedAt?.toISOString() ?? null,
      certificate: manifest.certificate && {
        sha256: manifest.certificate.sha256,
        issuedAt: manifest.certificate.issuedAt.toISOString(),
      },
    },
    review,
    grants: grants.map((g) => ({
      grantId: g.grantId,
      status:
        g.status === 'approved' && g.endsAt && g.endsAt.getTime() <= at ? 'expired' : g.status,
      mine: g.requesterId === me.staffId,
      endsAt: g.endsAt?.toISOString() ?? null,
    })),
    request: {
      ...request,
      receivedAt: request.receivedAt.toISOString(),
      verifiedAt: request.verifiedAt?.toISOString() ?? null,
      acknowledgedAt: request.acknowledgedAt?.toISOString() ?? null,
      closedAt: request.closedAt?.toISOString() ?? null,
      regimeLabel: REGIME_RULES[request.regime as keyof typeof REGIME_RULES]?.label,
      canExtend:
        !request.extendedDueDay &&
        !request.closedAt &&
        REGIME_RULES[request.regime as keyof typeof REGIME_RULES]?.extendedPeriod !== null,
      mine: request.assigneeId === me.staffId,
      proposedByMe: request.proposedBy === me.staffId,
    },
    events: events.map((e) => ({ ...e, id: String(e.id), at: e.at.toISOString() })),
    // The messages to the user: which, and where they stand; never their text or address.
    messages: messages.map((m) => ({
      id: m.id,
      template: m.template,
      state: m.state,
      attempts: m.attempts,
      createdAt: m.createdAt.toISOString(),
      sentAt: m.sentAt?.toISOString() ?? null,
      nextAttemptAt: m.state === 'queued' ? m.nextAttemptAt.toISOString() : null,
      lastError: m.lastError,
    })),
    mailConfigured: mailConfigured(),
    entered: new URL(args.request.url).searchParams.get('entered') === '1',
    offered,
    // Access and portability: the package's manifest and the work's progress (ADR 025).
    pkg:
      request.type === 'access' || request.type === 'portability'
        ? await packageView(request.id)
        : null,
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const requestId = args.params.requestId ?? '';
  const parsed = parseForm(ActionSchema, formObject(await args.request.formData()));
  if (!parsed.ok) {
    const [field, error] = Object.entries(parsed.fieldErrors)[0]!;
    return json({ error, field }, { status: 400 });
  }
  const { intent, note, proposal, reason, method } = parsed.value;
  // Step-up (ADR 035): approving a proposal (an erasure, a denial) asks for a fresh factor.
  if (intent === 'approve') {
    await requireRecentSecondFactor(me, 'privacy.approve', `/privacy/${requestId}`);
  }
  try {
    if (intent === 'assign_me' || intent === 'unassign') {
      await assignRequest(requestId, intent === 'assign_me' ? me.staffId : null, me);
      return json({ done: intent === 'assign_me' ? 'Assigned to you.' : 'Unassigned.' });
    }
    if (intent === 'set_hold' || intent === 'lift_hold') {
      const { request } = await getRequest(requestId);
      if (intent === 'set_hold') await setLegalHold(request.userId, note ?? '', me);
      else await liftLegalHold(request.userId, note ?? '', me);
      return json({ done: intent === 'set_hold' ? 'Legal hold set.' : 'Legal hold lifted.' });
    }
    if (intent === 'ask_grant') {
      const grant = await askReviewGrant(requestId, me);
      return json({
        done: `Grant ${grant.grantId.slice(0, 8)} asked for: a second privacy officer approves it.`,
      });
    }
    if (intent === 'extend') {
      const { dueDay } = await extendRequest(requestId, note ?? '', me);
      return json({ done: `Extended: now due ${dueDay}.` });
    }
    if (intent === 'verify' && !method) {
      return json(
        { error: 'Choose how the identity was verified', field: 'method' },
        { status: 400 },
      );
    }
    const move: StepInput | null =
      intent === 'verify'
        ? { kind: 'verify', evidence: note ?? '', ...(method ? { method } : {}) }
        : intent === 'propose'
          ? proposal
            ? { kind: 'propose', proposal, note: note ?? '' }
            : null
          : intent === 'hold'
            ? reason
              ? { kind: 'hold', reason, note: note ?? '' }
              : null
            : intent === 'reject' || intent === 'cancel'
              ? { kind: intent, note: note ?? '' }
              : intent === 'approve'
                ? { kind: 'approve', ...(note ? { note } : {}) }
                : { kind: intent };
    if (!move) {
      const field = intent === 'propose' ? 'proposal' : 'reason';
      return json({ error: 'Choose one', field }, { status: 400 });
    }
    const moved = await moveRequest(requestId, move, me);
    return json({ done: `${STATE_LABELS[moved.from]} → ${STATE_LABELS[moved.to]}.` });
  } catch (error) {
    if (error instanceof InputError) {
      return json({ error: error.message, field: error.field }, { status: 400 });
    }
    if (error instanceof ForbiddenError) return json({ error: error.message }, { status: 403 });
    if (error instanceof ConflictError) return json({ error: error.message }, { status: 409 });
    return answer(error);
  }
}

type Event = ReturnType<typeof useLoaderData<typeof loader>>['events'][number];
const col = columnHelper<Event>();
const timeline = col.columns([
  col.accessor('at', {
    header: 'When (UTC)',
    cell: (info) => <Time iso={info.getValue()} seconds zone={false} />,
  }),
  col.accessor('actorLabel', {
    header: 'Who',
    cell: (info) => <StaffName name={info.getValue()} />,
  }),
  col.accessor('kind', { header: 'What' }),
  col.accessor('toState', {
    header: 'State',
    cell: (info) => {
      const { fromState, toState } = info.row.original;
      if (!toState) return <span className="muted">—</span>;
      return fromState && fromState !== toState
        ? `${STATE_LABELS[fromState]} → ${STATE_LABELS[toState]}`
        : STATE_LABELS[toState];
    },
  }),
  col.accessor('note', {
    header: 'Note',
    cell: (info) => info.getValue() ?? <span className="muted">—</span>,
  }),
]);

type Message = ReturnType<typeof useLoaderData<typeof loader>>['messages'][number];
const mcol = columnHelper<Message>();
const outbox = mcol.columns([
  mcol.accessor('createdAt', {
    header: 'Queued (UTC)',
    cell: (info) => <Time iso={info.getValue()} seconds zone={false} />,
  }),
  mcol.accessor('template', {
    header: 'Message',
    cell: (info) => USER_MESSAGE_LABELS[info.getValue()],
  }),
  mcol.accessor('state', {
    header: 'State',
    cell: (info) => {
      const m = info.row.original;
      return (
        <>
          <span className={`badge${m.state === 'failed' ? ' danger' : ''}`}>{m.state}</span>
          {m.sentAt ? (
            <>
              {' '}
              <Time iso={m.sentAt} seconds zone={false} />
            </>
          ) : null}
          {m.nextAttemptAt && m.attempts > 0 ? (
            <span className="muted">
              {' '}
              next attempt <Time iso={m.nextAttemptAt} seconds zone={false} />
            </span>
          ) : null}
        </>
      );
    },
  }),
  mcol.accessor('attempts', { header: 'Attempts' }),
  mcol.accessor('lastError', {
    header: 'Last error',
    cell: (info) => info.getValue() ?? <span className="muted">—</span>,
  }),
]);

function NoteField({ label, required = true }: { label: string; required?: boolean }) {
  return (
    <label>
      {label}
      <input name="note" type="text" maxLength={2000} required={required} />
    </label>
  );
}

/** One step an officer can take: an optional choice, an optional note, and its button. */
function StepForm({
  intent,
  button,
  choice,
  note,
  secondary = false,
}: {
  intent: string;
  button: string;
  choice?: { name: string; label: string; options: readonly (readonly [string, string])[] };
  note?: string;
  secondary?: boolean;
}) {
  return (
    <Form method="post" className="row">
      {choice ? (
        <label>
          {choice.label}
          <select name={choice.name} required defaultValue="">
            <option value="" disabled>
              Choose…
            </option>
            {choice.options.map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {note ? <NoteField label={note} /> : null}
      <button
        type="submit"
        name="intent"
        value={intent}
        className={secondary ? 'secondary' : undefined}
      >
        {button}
      </button>
    </Form>
  );
}

export default function PrivacyRequestRoute() {
  const {
    request: r,
    events,
    messages,
    mailConfigured,
    entered,
    offered,
    pkg,
    holds,
    manifest,
    review,
    grants,
    fromInquiry,
  } = useLoaderData<typeof loader>();
  const activeHold = holds.find((h) => !h.liftedAt);
  const result = useActionData<typeof action>();
  const can = (kind: (typeof OFFICER_STEPS)[number]) => offered.includes(kind);
  return (
    <main>
      <p>
        <Link to="/privacy">← Privacy requests</Link>
      </p>
      <h1>
        {TYPE_LABELS[r.type as RequestType]} request <ShortId id={r.id} />
      </h1>
      {entered && !result ? (
        <p className="notice" role="status">
          Request entered. The user is asked to sign in to the product and confirm it; or record how
          you verified their identity below.
        </p>
      ) : null}
      {result && 'done' in result ? (
        <p className="notice" role="status">
          {result.done}
        </p>
      ) : null}
      {result && 'error' in result ? (
        <p className="form-error" role="alert">
          {'field' in result && typeof result.field === 'string' ? `${result.field}: ` : ''}
          {result.error}
        </p>
      ) : null}
      <section className="panel">
        <dl className="facts">
          {fromInquiry ? (
            <>
              <dt>From inquiry</dt>
              <dd>
                <Link to={`/inquiries/${fromInquiry}`}>
                  Open the inquiry this request was made from
                </Link>
              </dd>
            </>
          ) : null}
          <dt>State</dt>
          <dd>
            <span className="badge">{STATE_LABELS[r.state as RequestState]}</span>
            {r.holdReason ? ` (${r.holdReason.replace('_', ' ')})` : null}
            {r.proposal && r.state === 'awaiting_approval' ? ` — ${r.proposal} proposed` : null}
            {r.proposal && r.state === 'approved' ? ` — ${r.proposal} approved` : null}
          </dd>
          <dt>User</dt>
          <dd>
            <Link to={`/users/${r.userId}`}>
              <ShortId id={r.userId} />
            </Link>
          </dd>
          <dt>Due (UTC)</dt>
          <dd>
            {r.dueDay}
            {r.extendedDueDay ? ` (extended: ${r.extensionReason ?? ''})` : null} · {r.regimeLabel}
            {r.country ? `, ${r.country}` : null}
            {r.pausedDays ? ` · clock paused ${r.pausedDays} day(s)` : null}
            {r.acknowledgeBy ? ` · acknowledge by ${r.acknowledgeBy}` : null}
            {r.acknowledgeBy && !r.acknowledgedAt && !r.closedAt ? ' (not yet acknowledged)' : null}
          </dd>
          <dt>Acknowledged</dt>
          <dd>
            {r.acknowledgedAt ? (
              <Time iso={r.acknowledgedAt} zone={false} />
            ) : (
              <span className="muted">no message has reached the mail server yet</span>
            )}
          </dd>
          <dt>Received</dt>
          <dd>
            <Time iso={r.receivedAt} zone={false} /> ·{' '}
            {r.source === 'api' ? 'from the product' : `entered by staff (${r.channel})`}
          </dd>
          <dt>Identity</dt>
          <dd>
            {r.verified
              ? `verified: ${VERIFIED_BY[r.verificationMethod ?? ''] ?? r.verificationMethod ?? 'how is not recorded'}`
              : 'not yet verified'}
          </dd>
          <dt>Assignee</dt>
          <dd>
            {r.assigneeName ? (
              <StaffName name={r.assigneeName} />
            ) : (
              <span className="muted">nobody</span>
            )}{' '}
            {r.closedAt ? null : (
              <Form method="post" className="inline">
                <button
                  type="submit"
                  name="intent"
                  value={r.mine ? 'unassign' : 'assign_me'}
                  className="secondary"
                >
                  {r.mine ? 'Unassign' : 'Assign to me'}
                </button>
              </Form>
            )}
          </dd>
          <dt>Progress</dt>
          <dd>
            {r.progressTotal > 0 ? (
              <>
                <progress value={r.progressDone} max={r.progressTotal} aria-label="Work done">
                  {r.progressDone} of {r.progressTotal}
                </progress>{' '}
                <span className="muted" data-testid="progress-text">
                  {r.progressDone.toLocaleString('en')} of {r.progressTotal.toLocaleString('en')} (
                  {Math.floor((100 * r.progressDone) / r.progressTotal)}%)
                  {r.progressStep ? ` · ${r.progressStep}` : ''}
                </span>
              </>
            ) : (
              <span className="muted">not started</span>
            )}
          </dd>
        </dl>
      </section>

      {manifest ? (
        <section className="panel" aria-labelledby="erasure-title">
          <h2 id="erasure-title">Erasure</h2>
          <p className="muted">
            Counts only: what each table held of the user when the erasure began, and what it
            removed.
            {manifest.keyDestroyedAt
              ? ` Data key destroyed ${manifest.keyDestroyedAt.slice(0, 19).replace('T', ' ')} UTC.`
              : ''}
            {manifest.retainedPayments
              ? ` ${manifest.retainedPayments} payment reference(s) kept for tax, without card fields.`
              : ''}
          </p>
          <table className="data" data-testid="erasure-tallies">
            <thead>
              <tr>
                <th scope="col">Where</th>
                <th scope="col">Rows found</th>
                <th scope="col">Rows removed</th>
              </tr>
            </thead>
            <tbody>
              {manifest.tables.map((t) => (
                <tr key={t.table}>
                  <td>
                    <code>{t.table}</code>
                  </td>
                  <td>{t.rowsBefore}</td>
                  <td>{t.rowsRemoved}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {manifest.certificate ? (
            <p>
              <a href={`/privacy/${r.id}/certificate`} download>
                Download the signed erasure certificate
              </a>{' '}
              <span className="muted">
                (SHA-256 <code>{manifest.certificate.sha256.slice(0, 16)}…</code>, in the audit
                trail)
              </span>
            </p>
          ) : null}
        </section>
      ) : null}

      <section className="panel" aria-labelledby="holds-title">
        <h2 id="holds-title">Legal hold on this user</h2>
        {activeHold ? (
          <p className="form-error" role="status" data-testid="legal-hold">
            Under a legal hold since {activeHold.setAt.slice(0, 10)}
            {activeHold.setByName ? ` (set by ${activeHold.setByName})` : ''}: {activeHold.reason}.
            No erasure of this user can run until it is lifted.
          </p>
        ) : (
          <p className="muted">No legal hold: nothing blocks an erasure.</p>
        )}
        {r.state === 'completed' && r.type === 'erasure' ? null : (
          <Form method="post" className="row">
            <NoteField
              label={activeHold ? 'Why the hold is lifted' : 'Why the data must be kept'}
            />
            <button
              type="submit"
              name="intent"
              value={activeHold ? 'lift_hold' : 'set_hold'}
              className="secondary"
            >
              {activeHold ? 'Lift the legal hold' : 'Set a legal hold'}
            </button>
          </Form>
        )}
        {holds.filter((h) => h.liftedAt).length ? (
          <ul className="muted">
            {holds
              .filter((h) => h.liftedAt)
              .map((h) => (
                <li key={h.id}>
                  Held {h.setAt.slice(0, 10)} to {h.liftedAt?.slice(0, 10)}: {h.reason} — lifted:{' '}
                  {h.liftReason}
                </li>
              ))}
          </ul>
        ) : null}
      </section>

      {offered.length || r.canExtend ? (
        <section className="panel">
          <h2>Next steps</h2>
          {can('verify') ? (
            <StepForm
              intent="verify"
              button="Record verification"
              choice={{
                name: 'method',
                label: 'Verified by',
                options: VERIFICATION_METHODS.map(
                  (m) => [m, VERIFICATION_METHOD_LABELS[m]] as const,
                ),
              }}
              note="Evidence of identity (what was checked, ticket)"
            />
          ) : null}
          {can('start') ? <StepForm intent="start" button="Start processing" /> : null}
          {can('propose') ? (
            <StepForm
              intent="propose"
              button="Propose for approval"
              choice={{
                name: 'proposal',
                label: 'Propose',
                options: [
                  ...(r.type === 'erasure' ? [['erasure', 'the erasure'] as const] : []),
                  ['denial', 'a denial'],
                ],
              }}
              note="Why (the second officer reads it; a denial’s reasons go to the user)"
            />
          ) : null}
          {can('approve') ? (
            <StepForm intent="approve" button={`Approve the ${r.proposal ?? 'proposal'}`} />
          ) : r.proposal && r.proposedByMe ? (
            <p className="muted">You proposed it: a second officer decides.</p>
          ) : null}
          {can('reject') ? (
            <StepForm
              intent="reject"
              button="Reject the proposal"
              note="Why it is rejected"
              secondary
            />
          ) : null}
          {can('hold') ? (
            <StepForm
              intent="hold"
              button="Put on hold"
              choice={{
                name: 'reason',
                label: 'Hold for',
                options: [
                  ['legal_hold', 'a legal hold'],
                  ['awaiting_information', 'information from the user (pauses the clock)'],
                ],
              }}
              note="Why"
              secondary
            />
          ) : null}
          {can('resume') ? <StepForm intent="resume" button="Resume" /> : null}
          {r.canExtend ? (
            <StepForm
              intent="extend"
              button="Extend the deadline once"
              note="Reason for the extension (sent to the user)"
              secondary
            />
          ) : null}
          {can('cancel') ? (
            <Form method="post" className="row">
              <NoteField label="Why it is canceled" />
              <button type="submit" name="intent" value="cancel" className="danger">
                Cancel the request
              </button>
            </Form>
          ) : null}
        </section>
      ) : null}

      <section className="panel" aria-labelledby="messages-title">
        <h2 id="messages-title" className="panel-heading">
          Messages to the user
        </h2>
        <p className="muted">
          What was sent and when, never its text or address: the text is encrypted under the user’s
          key and read only by the sender.
          {mailConfigured
            ? null
            : ' Mail is not configured (CUSTODIAN_SMTP_URL is not set): messages stay queued until it is.'}
        </p>
        <DataTable
          caption="Messages, oldest first"
          columns={outbox}
          data={messages}
          getRowId={(m) => m.id}
          empty={
            manifest?.keyDestroyedAt
              ? 'None: the messages to this user were erased with the rest of their data.'
              : 'No message to the user yet.'
          }
        />
      </section>

      {r.type === 'access' || r.type === 'portability' ? (
        <PackagePanel
          pkg={pkg}
          processing={r.state === 'processing'}
          progress={{ step: r.progressStep, done: r.progressDone, total: r.progressTotal }}
        />
      ) : null}

      {review ? (
        <section className="panel" aria-labelledby="review-title">
          <h2 id="review-title">The requested change</h2>
          {review.open ? (
            <>
              <p className="muted">
                Shown under your grant of the profile; this view is in the audit trail. Start
                processing applies the requested values.
              </p>
              <table className="data diff">
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Now</th>
                    <th scope="col">Requested</th>
                  </tr>
                </thead>
                <tbody>
                  {review.lines.map((line) => (
                    <tr key={line.field} data-changed={line.current !== line.requested}>
                      <th scope="row">{line.field}</th>
                      <td>
                        {line.current === null ? (
                          <span className="muted">none</span>
                        ) : (
                          <del>{line.current}</del>
                        )}
                      </td>
                      <td>
                        <ins>{line.requested}</ins>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : (
            <p>
              Fields to change: {review.fields.join(', ')}. Their values are personal data: to
              review them, ask for a grant of the profile bound to this request. A privacy officer
              other than you approves it; it ends when the request closes.
            </p>
          )}
          {!review.open &&
          !r.closedAt &&
          !grants.some((g) => g.mine && (g.status === 'pending' || g.status === 'approved')) ? (
            <Form method="post" className="row">
              <button type="submit" name="intent" value="ask_grant">
                Ask for a review grant
              </button>
            </Form>
          ) : null}
          {grants.length ? (
            <ul className="plain">
              {grants.map((g) => (
                <li key={g.grantId}>
                  <Link to={`/grants/${g.grantId}`}>
                    Grant <ShortId id={g.grantId} />
                  </Link>{' '}
                  <span className="badge">{g.status}</span>
                  {g.mine ? ' (yours)' : null}
                </li>
              ))}
            </ul>
          ) : null}
        </section>
      ) : null}

      <DataTable
        caption="Timeline, oldest first"
        columns={timeline}
        data={events}
        getRowId={(e) => e.id}
        empty="Nothing has happened yet."
      />
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
