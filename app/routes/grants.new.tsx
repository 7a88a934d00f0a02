import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useState } from 'react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { requestGrant, ticketPattern } from '#app/modules/access/grants.server.ts';
import {
  cleanFreeText,
  grantRequestSchema,
  GrantRequestSearchSchema,
} from '#app/modules/access/input.server.ts';
import { approversOf, listPolicies } from '#app/modules/access/policies.server.ts';
import { CARD_PLACEHOLDER } from '#app/modules/access/redact.ts';
import { grantProblem, inputProblem } from '#app/utils/grant-problem.server.ts';
import {
  ErrorSummary,
  FieldError,
  Hint,
  JustificationField,
  ReasonField,
  describedBy,
  minutesText,
} from '#app/components/access/grant-ui.tsx';
import { GRANT_LIMITS, strictestPolicy } from '#app/modules/access/vocabulary.ts';
import { guard } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { isRole, ROLE_NAMES } from '#app/modules/auth/permissions.ts';
import { CATEGORY_INFO } from '#app/modules/users/categories.ts';
import { REQUESTABLE_CATEGORIES } from '#app/modules/vocabulary.ts';
import { UtcDateTimeSchema } from '#app/utils/datetime.server.ts';
import { formObject, parseForm, parseParams } from '#app/utils/forms.server.ts';
import { countOf } from '#app/modules/labels.ts';
import { openInquiriesAssignedTo } from '#app/modules/inquiries/inquiries.server.ts';
import {
  INQUIRY_CATEGORY_LABELS,
  INQUIRY_STATE_LABELS,
} from '#app/modules/inquiries/vocabulary.ts';
import { openRequestsAssignedTo } from '#app/modules/privacy/requests.server.ts';
import { TYPE_LABELS } from '#app/modules/privacy/vocabulary.ts';

export const access = requires('grants:request');

export const meta: MetaFunction = () => [{ title: 'Request access · Custodian' }];

const LABELS: Record<string, string> = {
  userId: 'End user id',
  categories: 'Data categories',
  reasonCode: 'Reason',
  justification: 'Justification',
  ticketRef: 'Ticket reference',
  durationMinutes: 'Duration',
  startsAt: 'Start',
  inquiryId: 'Inquiry',
  privacyRequestId: 'Privacy request',
};

/** The key of a set of approver permissions: sorted, joined. */
const keyOf = (permissions: readonly string[]) => [...new Set(permissions)].sort().join('+');

/** Every non-empty set of these permissions (there are two approver permissions today). */
function subsetsOf(items: readonly string[]): string[][] {
  return items.reduce<string[][]>(
    (sets, item) => [...sets, ...sets.map((set) => [...set, item]), [item]],
    [],
  );
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const params = new URL(args.request.url).searchParams;
  const search = attempt(() =>
    parseParams(GrantRequestSearchSchema, {
      user: params.get('user') || undefined,
      category: params.getAll('category').filter(Boolean),
    }),
  );
  const pattern = ticketPattern();
  const policies = (await listPolicies()).filter((p) =>
    (REQUESTABLE_CATEGORIES as readonly string[]).includes(p.category),
  );
  // The purposes a bound grant may name (ADR 034): this user's open inquiries and privacy
  // requests assigned to the requester.
  const [inquiries, privacyRequests] = search.user
    ? await Promise.all([
        openInquiriesAssignedTo(me.staffId, search.user),
        openRequestsAssignedTo(me.staffId, search.user),
      ])
    : [[], []];
  // Who may approve each combination the form can ask for: roles by name, people by name, the
  // requester left out (nobody approves their own request).
  const sets = subsetsOf([...new Set(policies.map((p) => p.approverPermission))]);
  const approvers = Object.fromEntries(
    await Promise.all(
      sets.map(async (set) => {
        const found = await approversOf(set, me.staffId);
        return [
          keyOf(set),
          { ...found, roles: found.roles.map((r) => (isRole(r) ? ROLE_NAMES[r] : r)) },
        ] as const;
      }),
    ),
  );
  return json({
    prefill: { userId: search.user ?? '', categories: search.category },
    purposes: {
      inquiries: inquiries.map((i) => ({
        id: i.id,
        label: `${INQUIRY_CATEGORY_LABELS[i.category]} inquiry received ${i.receivedAt.toISOString().slice(0, 10)} (${INQUIRY_STATE_LABELS[i.state].toLowerCase()})`,
      })),
      privacyRequests: privacyRequests.map((r) => ({
        id: r.id,
        label: `${TYPE_LABELS[r.type]} request received ${r.receivedAt.toISOString().slice(0, 10)}`,
      })),
    },
    approvers,
    policies: policies.map((p) => ({
      category: p.category,
      maxDurationMinutes: p.maxDurationMinutes,
      approvalsNeeded: p.approvalsNeeded,
      approverPermission: p.approverPermission,
    })),
    // The expression only when the example does not fit (a custom pattern): people read examples.
    ticket: pattern.test('SUP-1234')
      ? { pattern: null, example: 'SUP-1234' }
      : { pattern: pattern.source, example: null },
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const form = formObject(await args.request.formData(), ['categories']);
  const text = (name: string) => (typeof form[name] === 'string' ? form[name] : '');
  const startsAt = text('startsAt').trim();
  // Read as UTC; anything else goes on to the request's schema, which names the field.
  const utcStart = UtcDateTimeSchema.safeParse(startsAt);
  const fields = {
    userId: text('userId').trim().toLowerCase(),
    categories: form.categories as string[],
    reasonCode: text('reasonCode'),
    justification: text('justification'),
    ticketRef: text('ticketRef'),
    durationMinutes: text('durationMinutes').trim(),
    startsAt: utcStart.success ? utcStart.data.toISOString() : startsAt || undefined,
    inquiryId: text('inquiryId').trim().toLowerCase() || undefined,
    privacyRequestId: text('privacyRequestId').trim().toLowerCase() || undefined,
  };
  // Sent back to fill the form again, as it would have been stored: card numbers redacted.
  const values = {
    ...fields,
    justification: cleanFreeText(fields.justification),
    ticketRef: cleanFreeText(fields.ticketRef),
    startsAt,
  };
  const parsed = parseForm(grantRequestSchema(ticketPattern()), fields);
  if (!parsed.ok) return inputProblem(parsed.fieldErrors, values);
  try {
    const { grantId } = await requestGrant({
      requester: me,
      ...fields,
    });
    return redirect(`/grants/${grantId}?requested=1`);
  } catch (error) {
    return grantProblem(error, values);
  }
}

type Policy = ReturnType<typeof useLoaderData<typeof loader>>['policies'][number];
type Approvers = ReturnType<typeof useLoaderData<typeof loader>>['approvers'][string];

/** "a support lead or a privacy officer" */
function rolesText(roles: readonly string[]) {
  const named = roles.map((r) => `${/^[aeiou]/i.test(r) ? 'an' : 'a'} ${r.toLowerCase()}`);
  return named.length <= 1
    ? (named[0] ?? 'nobody')
    : `${named.slice(0, -1).join(', ')} or ${named[named.length - 1]}`;
}

/** "Ann Lee, Bob Diaz and 3 others" */
function peopleText(a: Approvers) {
  const more = a.count - a.names.length;
  if (more <= 0) {
    return a.names.length <= 1
      ? (a.names[0] ?? '')
      : `${a.names.slice(0, -1).join(', ')} or ${a.names[a.names.length - 1]}`;
  }
  return `${a.names.join(', ')} or ${more} other${more === 1 ? '' : 's'}`;
}

function boundOf(policies: Policy[], chosen: readonly string[]) {
  const relevant = policies.filter((p) => chosen.includes(p.category));
  if (relevant.length === 0) return null;
  const strict = strictestPolicy(relevant);
  // Name the policy that sets the bound only when the chosen categories disagree.
  const differ = relevant.some((p) => p.maxDurationMinutes !== strict.maxDurationMinutes);
  const shortest = relevant.find((p) => p.maxDurationMinutes === strict.maxDurationMinutes);
  return { ...strict, shortest: differ ? shortest?.category : undefined };
}

/** Who must approve the chosen categories, in plain words: roles, then people by name. */
function ApproversNeeded({
  approvalsNeeded,
  several,
  approvers,
}: {
  approvalsNeeded: number;
  several: boolean;
  approvers: Approvers | undefined;
}) {
  const how =
    approvalsNeeded === 1
      ? 'one approval'
      : `${approvalsNeeded} approvals, each from a different person`;
  if (!approvers || approvers.count < approvalsNeeded) {
    return (
      <p className="form-error" role="status" data-testid="approvers-needed">
        This request needs {how}, but not enough people other than you may approve{' '}
        {several ? 'all the chosen categories together' : 'these categories'} now. Ask an admin, or
        request the categories separately.
      </p>
    );
  }
  return (
    <p className="notice" role="status" data-testid="approvers-needed">
      This request needs {how}
      {several
        ? ' from someone who may approve every category you chose (one person approves them all)'
        : ''}
      : {rolesText(approvers.roles)}, that is <strong>{peopleText(approvers)}</strong>. Nobody
      approves their own request. Undecided requests expire after 24 hours.
    </p>
  );
}

/** The purpose a bound grant names: a choice among the requester's open ones, or an id typed in. */
function PurposeField(props: {
  name: string;
  label: string;
  hint: string;
  options: { id: string; label: string }[];
  defaultValue: string;
  error: string | undefined;
}) {
  const id = `field-${props.name}`;
  const common = {
    id,
    name: props.name,
    defaultValue: props.defaultValue,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': describedBy(id, true, props.error),
  };
  return (
    <div>
      <label htmlFor={id}>{props.label}</label>
      {props.options.length > 0 ? (
        <select {...common}>
          <option value="">None</option>
          {props.options.map((o) => (
            <option key={o.id} value={o.id}>
              {o.label}
            </option>
          ))}
        </select>
      ) : (
        <input {...common} type="text" autoComplete="off" spellCheck={false} className="mono" />
      )}
      <Hint id={id}>{props.hint}</Hint>
      <FieldError id={id} error={props.error} />
    </div>
  );
}

export default function NewGrantRoute() {
  const { prefill, policies, ticket, approvers, purposes } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const navigation = useNavigation();
  const errors: Record<string, string | undefined> = data?.fieldErrors ?? {};
  const values = (data?.values ?? {}) as Record<string, string | string[] | undefined>;
  const sent = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
  const [chosen, setChosen] = useState<string[]>(
    Array.isArray(values.categories) ? values.categories : prefill.categories,
  );
  const bound = boundOf(policies, chosen);
  const cap = bound?.maxDurationMinutes ?? GRANT_LIMITS.maxDurationCapMinutes;
  const toggle = (category: string, on: boolean) =>
    setChosen((list) =>
      on
        ? REQUESTABLE_CATEGORIES.filter((c) => c === category || list.includes(c))
        : list.filter((c) => c !== category),
    );
  return (
    <div className="panel form-panel">
      <h1>Request access to a user’s data</h1>
      <p className="muted">
        A grant lets you see the chosen categories of one user’s data for a limited time, once
        someone else has approved it. Nobody approves their own request, and every view under the
        grant is recorded in the audit trail.
      </p>
      {prefill.userId ? (
        <p>
          <Link to={`/users/${prefill.userId}`}>← Back to the user</Link>
        </p>
      ) : null}
      <ErrorSummary errors={errors} labels={LABELS} />
      {data?.formError ? (
        <p className="form-error" role="alert">
          {data.formError}
        </p>
      ) : null}
      <Form method="post" className="stack wide" noValidate>
        <div>
          <label htmlFor="field-userId">End user id</label>
          <input
            id="field-userId"
            name="userId"
            type="text"
            autoComplete="off"
            spellCheck={false}
            defaultValue={sent('userId') ?? prefill.userId}
            aria-invalid={errors.userId ? true : undefined}
            aria-describedby={describedBy('field-userId', true, errors.userId)}
            className="mono"
          />
          <Hint id="field-userId">The user’s id (a UUID), as shown on the user’s page.</Hint>
          <FieldError id="field-userId" error={errors.userId} />
        </div>

        <fieldset
          id="field-categories"
          aria-describedby={describedBy('field-categories', true, errors.categories)}
          aria-invalid={errors.categories ? true : undefined}
        >
          <legend>Data categories</legend>
          <Hint id="field-categories">
            Ask only for what the inquiry needs. Each category has its own policy; a request for
            several must satisfy all of them.
          </Hint>
          {policies.map((p) => (
            <label key={p.category} className="category-choice">
              <input
                type="checkbox"
                name="categories"
                value={p.category}
                checked={chosen.includes(p.category)}
                onChange={(e) => toggle(p.category, e.currentTarget.checked)}
              />
              <span>
                <strong>{CATEGORY_INFO[p.category].label}</strong>{' '}
                <span className="muted">
                  — {CATEGORY_INFO[p.category].holds}. At most {minutesText(p.maxDurationMinutes)};{' '}
                  {p.approvalsNeeded === 1
                    ? 'one approval'
                    : countOf(p.approvalsNeeded, 'approval')}{' '}
                  by {rolesText(approvers[p.approverPermission]?.roles ?? [])}.
                </span>
              </span>
            </label>
          ))}
          <FieldError id="field-categories" error={errors.categories} />
        </fieldset>

        <ReasonField
          defaultValue={sent('reasonCode') ?? ''}
          error={errors.reasonCode}
          placeholder="Choose a reason…"
        />

        <PurposeField
          name="inquiryId"
          label="Inquiry"
          hint="With the reason “support inquiry”: the open inquiry of this user assigned to you that this grant serves. The grant ends when the inquiry closes or goes to someone else."
          options={purposes.inquiries}
          defaultValue={sent('inquiryId') ?? ''}
          error={errors.inquiryId}
        />
        <PurposeField
          name="privacyRequestId"
          label="Privacy request"
          hint="With the reason “privacy request”: the open privacy request of this user assigned to you that this grant serves. The grant ends when the request closes."
          options={purposes.privacyRequests}
          defaultValue={sent('privacyRequestId') ?? ''}
          error={errors.privacyRequestId}
        />

        <JustificationField
          defaultValue={sent('justification') ?? ''}
          error={errors.justification}
          hint={
            <>
              Why you need this data: at least 20 letters or digits in at least 3 different words.
              Repeated characters count once, so “.” or “xxxxxxxx” or “test test test” is not
              accepted. Card numbers typed here are replaced by “{CARD_PLACEHOLDER}” before anything
              is stored.
            </>
          }
        />

        <div>
          <label htmlFor="field-ticketRef">Ticket reference</label>
          <input
            id="field-ticketRef"
            name="ticketRef"
            type="text"
            autoComplete="off"
            maxLength={GRANT_LIMITS.ticketMaxLength}
            defaultValue={sent('ticketRef') ?? ''}
            aria-invalid={errors.ticketRef ? true : undefined}
            aria-describedby={describedBy('field-ticketRef', true, errors.ticketRef)}
            className="short"
          />
          <Hint id="field-ticketRef">
            The support or privacy ticket this is for, written as in the ticket system
            {ticket.example ? (
              <>
                : for example <code>{ticket.example}</code>
              </>
            ) : (
              <>
                {' '}
                (format <code>{ticket.pattern}</code>)
              </>
            )}
            . Card numbers are redacted here too.
          </Hint>
          <FieldError id="field-ticketRef" error={errors.ticketRef} />
        </div>

        <div className="fields">
          <div className="field-lg">
            <label htmlFor="field-durationMinutes">Duration (minutes)</label>
            <input
              id="field-durationMinutes"
              name="durationMinutes"
              type="number"
              inputMode="numeric"
              min={GRANT_LIMITS.minDurationMinutes}
              max={cap}
              defaultValue={sent('durationMinutes') ?? String(Math.min(60, cap))}
              aria-invalid={errors.durationMinutes ? true : undefined}
              aria-describedby={describedBy('field-durationMinutes', true, errors.durationMinutes)}
            />
          </div>
          <div className="field-xl">
            <label htmlFor="field-startsAt">Start (UTC, optional)</label>
            <input
              id="field-startsAt"
              name="startsAt"
              type="datetime-local"
              defaultValue={sent('startsAt') ?? ''}
              aria-invalid={errors.startsAt ? true : undefined}
              aria-describedby={describedBy('field-startsAt', true, errors.startsAt)}
            />
          </div>
        </div>
        <div className="fields-hints">
          <p className="muted hint" id="field-durationMinutes-hint">
            {bound ? (
              <>
                At most <strong data-testid="duration-cap">{minutesText(cap)}</strong> ({cap}{' '}
                minutes) for the chosen categories
                {bound.shortest ? `, set by the ${CATEGORY_INFO[bound.shortest].label} policy` : ''}
                . The grant lasts this long from approval, or from the start you choose.
              </>
            ) : (
              <>
                At least {GRANT_LIMITS.minDurationMinutes} minutes; the chosen categories’ policies
                set the maximum.
              </>
            )}
          </p>
          <p className="muted hint" id="field-startsAt-hint">
            Leave the start empty to begin at approval; otherwise within the next 7 days.
          </p>
          <FieldError id="field-durationMinutes" error={errors.durationMinutes} />
          <FieldError id="field-startsAt" error={errors.startsAt} />
        </div>

        {bound ? (
          <ApproversNeeded
            approvalsNeeded={bound.approvalsNeeded}
            several={bound.approverPermissions.length > 1}
            approvers={approvers[keyOf(bound.approverPermissions)]}
          />
        ) : null}

        <div className="row">
          <button type="submit" disabled={navigation.state === 'submitting'}>
            Send request
          </button>
          <Link className="button secondary" to="/grants?view=mine">
            Cancel
          </Link>
        </div>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
