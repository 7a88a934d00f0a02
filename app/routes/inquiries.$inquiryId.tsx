import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { Time } from '#app/components/time.tsx';
import { requires } from '#app/modules/auth/access.ts';
import {
  assignInquiry,
  closeInquiry,
  getInquiry,
  inquiryStaffChoices,
  inquiryToPrivacyRequest,
  openThread,
  renewAssignmentGrant,
  replyToInquiry,
  setInquiryState,
} from '#app/modules/inquiries/inquiries.server.ts';
import {
  InquiryActionSchema,
  InquiryParamsSchema,
  PRIVACY_TYPES_FROM_INQUIRY,
} from '#app/modules/inquiries/input.server.ts';
import {
  INQUIRY_CATEGORY_LABELS,
  INQUIRY_STATE_LABELS,
  SETTABLE_STATES,
} from '#app/modules/inquiries/vocabulary.ts';
import { messagesOfInquiry } from '#app/modules/privacy/outbox.server.ts';
import { TYPE_LABELS } from '#app/modules/privacy/vocabulary.ts';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '#app/utils/errors.ts';
import { formObject, parseForm, parseParams } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt, invariantResponse } from '#app/utils/http.server.ts';

// One inquiry (ADR 034): what it is and where it stands for anyone working inquiries; its thread
// (subject and messages) for its current assignee alone, under the grant the assignment gave,
// each read audited before it is shown (hence writesOnGet).
export const access = requires('inquiries:answer', { writesOnGet: true });

export const meta: MetaFunction = () => [{ title: 'Inquiry · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const { inquiryId } = attempt(() => parseParams(InquiryParamsSchema, args.params));
  const inquiry = await getInquiry(inquiryId);
  invariantResponse(inquiry, 'No inquiry has this id', { status: 404 });
  const mine = inquiry.assigneeId === me.staffId;
  // Only the assignee asks the gate: anyone else is told whose the thread is, and nothing is
  // read (nor a refusal recorded at every page view).
  const gated = mine
    ? await openThread(me, inquiryId, new URL(args.request.url).pathname).catch(answer)
    : null;
  const thread = gated?.open
    ? {
        subject: gated.data.subject,
        grantEndsAt: gated.grant.endsAt.toISOString(),
        messages: gated.data.messages.map((m) => ({
          id: m.id,
          author: m.author,
          staffName: m.staffName,
          at: m.at.toISOString(),
          body: m.body,
        })),
      }
    : null;
  const canAssign = me.permissions.has('inquiries:assign');
  return json({
    inquiry: {
      ...inquiry,
      receivedAt: inquiry.receivedAt.toISOString(),
      firstResponseDueAt: inquiry.firstResponseDueAt.toISOString(),
      resolutionDueAt: inquiry.resolutionDueAt.toISOString(),
      firstResponseAt: inquiry.firstResponseAt?.toISOString() ?? null,
      closedAt: inquiry.closedAt?.toISOString() ?? null,
    },
    mine,
    thread,
    refusal: gated && !gated.open ? gated.refusal.message : null,
    canAssign,
    canConvert: me.permissions.has('privacy:process'),
    staff: canAssign ? await inquiryStaffChoices() : [],
    replies: (await messagesOfInquiry(inquiryId)).map((m) => ({
      id: m.id,
      state: m.state,
      createdAt: m.createdAt.toISOString(),
    })),
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const { inquiryId } = attempt(() => parseParams(InquiryParamsSchema, args.params));
  const parsed = parseForm(InquiryActionSchema, formObject(await args.request.formData()));
  if (!parsed.ok) {
    const [field, error] = Object.entries(parsed.fieldErrors)[0]!;
    return json({ error, field, done: null }, { status: 400 });
  }
  const input = parsed.value;
  try {
    switch (input.intent) {
      case 'take':
        await assignInquiry(inquiryId, me.staffId, me);
        return json({
          done: 'Assigned to you: the thread is open to you.',
          error: null,
          field: null,
        });
      case 'assign':
        await assignInquiry(inquiryId, input.assignee, me);
        return json({ done: 'Assigned.', error: null, field: null });
      case 'renew':
        await renewAssignmentGrant(inquiryId, me);
        return json({ done: 'Your access to the thread is renewed.', error: null, field: null });
      case 'reply': {
        const sent = await replyToInquiry(inquiryId, { body: input.body, next: input.next }, me);
        return json({
          done: sent.queued ? 'Reply queued to the user.' : 'Reply stored; the user is erased.',
          error: null,
          field: null,
        });
      }
      case 'state':
        await setInquiryState(inquiryId, input.state, me);
        return json({
          done: `Now ${INQUIRY_STATE_LABELS[input.state].toLowerCase()}.`,
          error: null,
          field: null,
        });
      case 'close':
        await closeInquiry(inquiryId, me);
        return json({
          done: 'Closed: every grant bound to it has ended.',
          error: null,
          field: null,
        });
      case 'privacy': {
        const { privacyRequestId } = await inquiryToPrivacyRequest(inquiryId, input.type, me);
        return json({
          done: `Privacy request ${privacyRequestId.slice(0, 8)} created from this inquiry.`,
          error: null,
          field: null,
        });
      }
    }
  } catch (error) {
    if (error instanceof InputError) {
      return json({ error: error.message, field: error.field, done: null }, { status: 400 });
    }
    if (error instanceof ForbiddenError) {
      return json({ error: error.message, field: null, done: null }, { status: 403 });
    }
    if (error instanceof ConflictError) {
      return json({ error: error.message, field: null, done: null }, { status: 409 });
    }
    if (error instanceof NotFoundError) return answer(error);
    throw error;
  }
}

export default function InquiryRoute() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const { inquiry, thread } = data;
  const open = inquiry.state !== 'closed';
  return (
    <main className="stack">
      <p>
        <Link to="/inquiries">← Inquiries</Link>
      </p>
      <h1>
        {INQUIRY_CATEGORY_LABELS[inquiry.category]} inquiry{' '}
        <span className="badge">{INQUIRY_STATE_LABELS[inquiry.state]}</span>
      </h1>
      {result?.done ? <p role="status">{result.done}</p> : null}
      {result?.error ? (
        <p className="form-error" role="alert">
          {result.error}
        </p>
      ) : null}
      <dl className="facts">
        <dt>User</dt>
        <dd>
          <span className="mono">{inquiry.emailMasked ?? '—'}</span>{' '}
          <Link to={`/users/${inquiry.userId}`}>Open the user’s page</Link>
        </dd>
        <dt>Received (UTC)</dt>
        <dd>
          <Time iso={inquiry.receivedAt} zone={false} /> (
          {inquiry.source === 'api' ? 'from the app' : 'entered by staff'})
        </dd>
        <dt>First response due</dt>
        <dd>
          <Time iso={inquiry.firstResponseDueAt} zone={false} />
          {inquiry.firstResponseAt ? (
            <>
              {' '}
              (answered <Time iso={inquiry.firstResponseAt} zone={false} />)
            </>
          ) : null}
        </dd>
        <dt>Resolution due</dt>
        <dd>
          <Time iso={inquiry.resolutionDueAt} zone={false} />
        </dd>
        <dt>Assignee</dt>
        <dd>
          {inquiry.assigneeName ? (
            <StaffName name={inquiry.assigneeName} />
          ) : (
            <span className="muted">nobody</span>
          )}
        </dd>
        <dt>Messages</dt>
        <dd>
          {inquiry.messages} on the thread; {data.replies.length} repl
          {data.replies.length === 1 ? 'y' : 'ies'} to the user (
          {data.replies.filter((r) => r.state === 'sent').length} sent)
        </dd>
        {inquiry.privacyRequestId ? (
          <>
            <dt>Privacy request</dt>
            <dd>
              <Link to={`/privacy/${inquiry.privacyRequestId}`}>
                Open the privacy request made from this inquiry
              </Link>
            </dd>
          </>
        ) : null}
      </dl>

      {open && !inquiry.assigneeId ? (
        <Form method="post">
          <input type="hidden" name="intent" value="take" />
          <button type="submit">Take this inquiry</button>
        </Form>
      ) : null}
      {open && data.canAssign ? (
        <Form method="post" className="row">
          <input type="hidden" name="intent" value="assign" />
          <label htmlFor="field-assignee">Give it to</label>
          <select id="field-assignee" name="assignee" defaultValue="">
            <option value="">Choose…</option>
            {data.staff.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
          <button type="submit">Assign</button>
        </Form>
      ) : null}

      <section aria-labelledby="thread-heading" className="panel">
        <h2 id="thread-heading">Thread</h2>
        {thread ? (
          <>
            <p className="muted">
              Open to you under the grant your assignment gave, until{' '}
              <Time iso={thread.grantEndsAt} zone={false} /> or until the inquiry closes or goes to
              someone else. This read is in the audit trail.
            </p>
            <h3>
              <bdi>{thread.subject}</bdi>
            </h3>
            <ol className="thread">
              {thread.messages.map((m) => (
                <li key={m.id}>
                  <p className="muted">
                    {m.author === 'user' ? 'The user' : <StaffName name={m.staffName ?? 'Staff'} />}
                    , <Time iso={m.at} zone={false} />
                  </p>
                  <p className="message-body">
                    <bdi>{m.body}</bdi>
                  </p>
                </li>
              ))}
            </ol>
          </>
        ) : data.mine ? (
          <>
            <p>{data.refusal ?? 'Your grant of this thread has ended.'}</p>
            {open ? (
              <Form method="post">
                <input type="hidden" name="intent" value="renew" />
                <button type="submit">Renew my access to the thread</button>
              </Form>
            ) : null}
          </>
        ) : (
          <p className="muted">
            Only the inquiry’s assignee reads its thread.{' '}
            {open && !inquiry.assigneeId ? 'Take it to read it.' : ''}
          </p>
        )}
      </section>

      {thread && open ? (
        <section aria-labelledby="reply-heading" className="panel">
          <h2 id="reply-heading">Reply to the user</h2>
          <Form method="post" className="stack wide">
            <input type="hidden" name="intent" value="reply" />
            <label htmlFor="field-body">Reply</label>
            <textarea
              id="field-body"
              name="body"
              rows={6}
              aria-invalid={result?.field === 'body' ? true : undefined}
            />
            <label htmlFor="field-next">Then the inquiry is</label>
            <select id="field-next" name="next" defaultValue="waiting_on_user">
              {SETTABLE_STATES.map((s) => (
                <option key={s} value={s}>
                  {INQUIRY_STATE_LABELS[s]}
                </option>
              ))}
            </select>
            <button type="submit">Send the reply</button>
          </Form>
        </section>
      ) : null}

      {open && (data.mine || data.canAssign) ? (
        <Form method="post">
          <input type="hidden" name="intent" value="close" />
          <button type="submit">Close the inquiry</button>
        </Form>
      ) : null}

      {open && inquiry.category === 'privacy' && !inquiry.privacyRequestId && data.canConvert ? (
        <Form method="post" className="row">
          <input type="hidden" name="intent" value="privacy" />
          <label htmlFor="field-type">Make it a privacy request of type</label>
          <select id="field-type" name="type" defaultValue="access">
            {PRIVACY_TYPES_FROM_INQUIRY.map((t) => (
              <option key={t} value={t}>
                {TYPE_LABELS[t]}
              </option>
            ))}
          </select>
          <button type="submit">Create the privacy request</button>
        </Form>
      ) : null}
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
