import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import type { ReactNode } from 'react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import {
  cancelGrant,
  decideGrant,
  revokeGrant,
  reviewBreakGlass,
} from '#app/modules/access/grants.server.ts';
import { GrantDecisionSchema, GrantParamsSchema } from '#app/modules/access/input.server.ts';
import { getGrant } from '#app/modules/access/list.server.ts';
import { CARD_PLACEHOLDER } from '#app/modules/access/redact.ts';
import { grantProblem, inputProblem } from '#app/utils/grant-problem.server.ts';
import {
  categoryList,
  describedBy,
  FieldError,
  Hint,
  minutesText,
  REVOKE_BASIS_LABELS,
  StateBadge,
} from '#app/components/access/grant-ui.tsx';
import { ShortId } from '#app/components/short-id.tsx';
import { Time, utc } from '#app/components/time.tsx';
import { grantClosedAt } from '#app/modules/access/ui-grants.server.ts';
import { staffNames } from '#app/modules/staff-names.server.ts';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { now } from '#app/modules/clock.server.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';
import { label } from '#app/modules/labels.ts';

export const access = requires('grants:request');

export const meta: MetaFunction = () => [{ title: 'Access grant · Custodian' }];

function grantIdOf(params: unknown) {
  const parsed = GrantParamsSchema.safeParse(params);
  if (!parsed.success) throw new Response('No grant has this id.', { status: 404 });
  return parsed.data.grantId.toLowerCase();
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const grantId = grantIdOf(args.params);
  const detail = await getGrant({ grantId, viewer: me });
  if (!detail) {
    throw new Response('No grant with this id that you may see.', { status: 404 });
  }
  const { grant } = detail;
  const [names, closedAt] = await Promise.all([
    staffNames([grant.revokedBy, grant.reviewedBy]),
    grantClosedAt(grantId),
  ]);
  return json({
    grant,
    decisions: detail.decisions,
    can: detail.can,
    closedAt,
    revokedByName: grant.revokedBy ? (names[grant.revokedBy] ?? null) : null,
    reviewedByName: grant.reviewedBy ? (names[grant.reviewedBy] ?? null) : null,
    mine: grant.requesterId === me.staffId,
    decidedByMe: detail.decisions.some((d) => d.approverId === me.staffId),
    now: now().toISOString(),
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const grantId = grantIdOf(args.params);
  const form = formObject(await args.request.formData());
  const values = {
    intent: typeof form.intent === 'string' ? form.intent : undefined,
    comment: typeof form.comment === 'string' ? form.comment : '',
  };
  const parsed = parseForm(GrantDecisionSchema, form);
  if (!parsed.ok) return inputProblem(parsed.fieldErrors, values);
  const actor = me;
  const input = parsed.value;
  // Step-up (ADR 035): approving asks for a second factor proved in the last few minutes.
  if (input.intent === 'approve') {
    await requireRecentSecondFactor(me, 'grant.approve', `/grants/${grantId}`);
  }
  try {
    switch (input.intent) {
      case 'approve':
      case 'deny': {
        const result = await decideGrant({
          grantId,
          approver: actor,
          decision: input.intent,
          comment: input.comment,
        });
        return json({ ok: true as const, done: input.intent, status: result.status });
      }
      case 'revoke':
        await revokeGrant({ grantId, by: actor });
        return json({ ok: true as const, done: input.intent, status: 'revoked' });
      case 'withdraw':
        await cancelGrant({ grantId, by: actor });
        return json({ ok: true as const, done: input.intent, status: 'cancelled' });
      case 'review':
        await reviewBreakGlass({ grantId, reviewer: actor, comment: input.comment });
        return json({ ok: true as const, done: input.intent, status: 'reviewed' });
    }
  } catch (error) {
    return grantProblem(error, values);
  }
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;

const DONE: Record<string, (status: string) => string> = {
  approve: (status) =>
    status === 'approved'
      ? 'Approved. The grant is live from its start until its end.'
      : 'Your approval is recorded; the request still needs another person’s approval.',
  deny: () => 'Denied. The requester has been told.',
  revoke: () => 'Revoked. The very next request under this grant is refused.',
  withdraw: () => 'Request withdrawn.',
  review: () => 'Break-glass use marked as reviewed.',
};

interface Step {
  at: string | null;
  what: ReactNode;
  testId: string;
}

function timeline(d: Data): Step[] {
  const g = d.grant;
  const steps: Step[] = [
    {
      at: g.createdAt,
      testId: 'step-requested',
      what: g.breakGlass ? (
        <>
          <strong>
            <StaffName name={g.requesterName} />
          </strong>{' '}
          broke glass: access began at once, without approval
        </>
      ) : (
        <>
          <strong>
            <StaffName name={g.requesterName} />
          </strong>{' '}
          requested access
        </>
      ),
    },
  ];
  for (const decision of d.decisions) {
    steps.push({
      at: decision.decidedAt,
      testId: `step-${decision.decision}`,
      what: (
        <>
          <strong>
            <StaffName name={decision.approverName} />
          </strong>{' '}
          {decision.decision === 'approve' ? 'approved' : 'denied'}
          {decision.comment ? (
            <>
              : <q className="pre-wrap">{decision.comment}</q>
            </>
          ) : (
            ' without a comment'
          )}
        </>
      ),
    });
  }
  if (g.startsAt && !g.breakGlass) {
    const future = g.startsAt > d.now;
    steps.push({
      at: g.startsAt,
      testId: 'step-start',
      what: future ? 'Access will begin' : 'Access began',
    });
  }
  if (g.revokedAt) {
    steps.push({
      at: g.revokedAt,
      testId: 'step-revoked',
      what: (
        <>
          Revoked
          {d.revokedByName ? (
            <>
              {' '}
              by{' '}
              <strong>
                <StaffName name={d.revokedByName} />
              </strong>
            </>
          ) : null}{' '}
          {g.revokeBasis ? `(${REVOKE_BASIS_LABELS[g.revokeBasis] ?? g.revokeBasis})` : null}
        </>
      ),
    });
  } else if (g.state === 'expired') {
    steps.push(
      g.endsAt
        ? { at: g.endsAt, testId: 'step-ended', what: 'Access ended' }
        : {
            at: g.requestExpiresAt,
            testId: 'step-expired',
            what: 'The request expired: nobody decided it within 24 hours',
          },
    );
  } else if (g.state === 'cancelled') {
    steps.push({ at: d.closedAt, testId: 'step-withdrawn', what: 'The requester withdrew it' });
  } else if ((g.state === 'active' || g.state === 'scheduled') && g.endsAt) {
    steps.push({ at: g.endsAt, testId: 'step-ends', what: 'Access ends' });
  }
  if (g.reviewedAt) {
    steps.push({
      at: g.reviewedAt,
      testId: 'step-reviewed',
      what: (
        <>
          Break-glass use reviewed by{' '}
          <strong>
            {d.reviewedByName === null ? 'a reviewer' : <StaffName name={d.reviewedByName} />}
          </strong>
          {g.reviewComment ? (
            <>
              : <q className="pre-wrap">{g.reviewComment}</q>
            </>
          ) : null}
        </>
      ),
    });
  }
  return steps.sort((a, b) => (a.at ?? '9').localeCompare(b.at ?? '9'));
}

function CommentField({
  id,
  label,
  hint,
  error,
  defaultValue,
}: {
  id: string;
  label: string;
  hint: string;
  error?: string;
  defaultValue?: string;
}) {
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        name="comment"
        rows={3}
        defaultValue={defaultValue}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, true, error)}
      />
      <Hint id={id}>{hint}</Hint>
      <FieldError id={id} error={error} />
    </div>
  );
}

export default function GrantRoute() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const { grant: g, can } = data;
  const problem = result && !result.ok ? result : null;
  const sentIntent = typeof problem?.values.intent === 'string' ? problem.values.intent : '';
  const sentComment =
    typeof problem?.values.comment === 'string' ? problem.values.comment : undefined;
  const commentError = problem?.fieldErrors.comment;
  const pendingFor = g.approvalsNeeded - g.approvals;
  return (
    <>
      <p>
        <Link to="/grants">← All grants</Link>
      </p>
      <h1>
        Grant <ShortId id={g.id} />{' '}
        <span className="title-badges" data-testid="grant-state">
          <StateBadge state={g.state} breakGlass={g.breakGlass} />
        </span>
      </h1>
      {params.get('requested') && !result ? (
        <p className="notice" role="status">
          Request sent. Approvers have been notified; you will see their decision here and in your
          notifications.
        </p>
      ) : null}
      {params.get('broke') && !result ? (
        <p className="notice" role="status">
          Break-glass access is active now. Security reviewers have been alerted.
        </p>
      ) : null}
      {result?.ok ? (
        <p className="notice" role="status" data-testid="action-done">
          {DONE[result.done]?.(result.status)}
        </p>
      ) : null}
      {problem?.formError ? (
        <p className="form-error" role="alert">
          Refused: {problem.formError} This attempt has been recorded in the audit trail.
        </p>
      ) : null}
      {problem && !problem.formError && problem.fieldErrors.intent ? (
        <p className="form-error" role="alert">
          {problem.fieldErrors.intent}
        </p>
      ) : null}

      <section className="panel" aria-labelledby="facts-title">
        <h2 id="facts-title" className="panel-heading">
          Who, what and why
        </h2>
        <dl className="facts">
          <dt>Requested by</dt>
          <dd>
            <StaffName name={g.requesterName} />
          </dd>
          <dt>End user</dt>
          <dd>
            <Link to={`/users/${g.userId}`}>
              <code>{g.userId}</code>
            </Link>
          </dd>
          <dt>Data categories</dt>
          <dd data-testid="grant-categories">{categoryList(g.categories)}</dd>
          <dt>Reason</dt>
          <dd>{label('reason', g.reasonCode)}</dd>
          <dt>Justification</dt>
          <dd className="pre-wrap" data-testid="grant-justification">
            {/* Only the retention purge leaves it empty (ADR 032): the form requires 20 characters. */}
            {g.justification || (
              <span className="muted">Removed by the retention policy of closed grants</span>
            )}
          </dd>
          <dt>Ticket</dt>
          <dd>{g.ticketRef ?? <span className="muted">none</span>}</dd>
          <dt>Duration</dt>
          <dd>{minutesText(g.durationMinutes)}</dd>
          {g.requestedStartAt ? (
            <>
              <dt>Requested start</dt>
              <dd>
                <Time iso={g.requestedStartAt} />
              </dd>
            </>
          ) : null}
          <dt>Access window</dt>
          <dd data-testid="grant-window">
            {g.startsAt ? (
              <>
                <Time iso={g.startsAt} /> to <Time iso={g.endsAt} />
              </>
            ) : (
              <span className="muted">not started</span>
            )}
          </dd>
          {g.breakGlass ? null : (
            <>
              <dt>Approvals</dt>
              <dd>
                {g.approvals} of {g.approvalsNeeded}, by holders of{' '}
                {g.approverPermissions.map((p, i) => (
                  <span key={p}>
                    {i ? ' and ' : ''}
                    <code>{p}</code>
                  </span>
                ))}
              </dd>
            </>
          )}
          {g.state === 'pending' ? (
            <>
              <dt>Request expires</dt>
              <dd>
                <Time iso={g.requestExpiresAt} /> if undecided
              </dd>
            </>
          ) : null}
          {g.breakGlass ? (
            <>
              <dt>Review</dt>
              <dd data-testid="grant-review">
                {g.reviewedAt ? (
                  <>
                    reviewed <Time iso={g.reviewedAt} />
                  </>
                ) : (
                  <strong>waiting for a security reviewer</strong>
                )}
              </dd>
            </>
          ) : null}
        </dl>
      </section>

      <section className="panel" aria-labelledby="timeline-title">
        <h2 id="timeline-title" className="panel-heading">
          Timeline
        </h2>
        <ol className="timeline" data-testid="timeline">
          {timeline(data).map((step, i) => (
            <li key={`${step.testId}-${i}`} data-testid={step.testId}>
              <Time iso={step.at} seconds /> — {step.what}
            </li>
          ))}
        </ol>
      </section>

      {can.decide ? (
        <section className="panel" aria-labelledby="decide-title">
          <h2 id="decide-title" className="panel-heading">
            Your decision
          </h2>
          <p className="muted">
            <StaffName name={g.requesterName} /> asks to see{' '}
            {categoryList(g.categories).toLowerCase()} of this user for{' '}
            {minutesText(g.durationMinutes)}.
            {pendingFor > 1 ? ` It needs ${pendingFor} more approvals from different people.` : ''}
          </p>
          <Form method="post" className="stack medium" noValidate>
            <CommentField
              id="field-comment"
              label="Comment (required to deny)"
              hint={`Why you deny, or anything the requester should know when you approve: it is kept with your decision and shown to the requester. Card numbers are replaced by “${CARD_PLACEHOLDER}” before anything is stored.`}
              error={sentIntent === 'approve' || sentIntent === 'deny' ? commentError : undefined}
              defaultValue={
                sentIntent === 'approve' || sentIntent === 'deny' ? sentComment : undefined
              }
            />
            <div className="row">
              <button type="submit" name="intent" value="approve">
                Approve
              </button>
              <button type="submit" name="intent" value="deny" className="danger">
                Deny
              </button>
            </div>
          </Form>
        </section>
      ) : g.state === 'pending' ? (
        <p className="panel" data-testid="decide-note">
          {data.mine
            ? 'You made this request, so you cannot approve or deny it: someone else holding the approver permission above must decide.'
            : data.decidedByMe
              ? 'You have decided on this request; another person must give the next approval.'
              : 'You cannot decide this request: your roles lack a permission its policy asks of approvers.'}
        </p>
      ) : null}

      {can.review ? (
        <section className="panel" aria-labelledby="review-title">
          <h2 id="review-title" className="panel-heading">
            Review this break-glass use
          </h2>
          <p className="muted">
            Check the justification and what was viewed under this grant in the{' '}
            <Link to={`/audit?grant=${g.id}`}>audit trail</Link>. Until it is reviewed,{' '}
            <StaffName name={g.requesterName} /> cannot break glass again.
          </p>
          <Form method="post" className="stack medium" noValidate>
            <CommentField
              id="field-reviewComment"
              label="Review comment (optional)"
              hint="What you checked and concluded. Card numbers are redacted before storage."
              error={sentIntent === 'review' ? commentError : undefined}
              defaultValue={sentIntent === 'review' ? sentComment : undefined}
            />
            <div>
              <button type="submit" name="intent" value="review">
                Mark as reviewed
              </button>
            </div>
          </Form>
        </section>
      ) : g.breakGlass && !g.reviewedAt && data.mine ? (
        <p className="panel">
          A security reviewer other than you must review this use; until then you cannot break glass
          again.
        </p>
      ) : null}

      {can.revoke || can.cancel ? (
        <section className="panel" aria-labelledby="end-title">
          <h2 id="end-title" className="panel-heading">
            {can.revoke ? 'Revoke' : 'Withdraw'}
          </h2>
          <Form method="post">
            {can.revoke ? (
              <>
                <p>
                  Revoking ends access at once
                  {g.endsAt ? ` instead of at ${utc(g.endsAt)}` : ''}: the very next page opened
                  under this grant is refused. To extend access later, a new request must be
                  approved.
                </p>
                <button type="submit" name="intent" value="revoke" className="danger">
                  Revoke now
                </button>
              </>
            ) : (
              <>
                <p>Withdraw this request if you no longer need the access.</p>
                <button type="submit" name="intent" value="withdraw" className="secondary">
                  Withdraw request
                </button>
              </>
            )}
          </Form>
        </section>
      ) : null}
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
