import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useState } from 'react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { breakGlass, ticketPattern } from '#app/modules/access/grants.server.ts';
import {
  BreakGlassSearchSchema,
  breakGlassSchema,
  cleanFreeText,
} from '#app/modules/access/input.server.ts';
import { listPolicies } from '#app/modules/access/policies.server.ts';
import { CARD_PLACEHOLDER } from '#app/modules/access/redact.ts';
import { grantProblem, inputProblem } from '#app/utils/grant-problem.server.ts';
import {
  ErrorSummary,
  FieldError,
  Hint,
  JustificationField,
  ReasonField,
  categoryLabel,
  describedBy,
  minutesText,
} from '#app/components/access/grant-ui.tsx';
import { Time } from '#app/components/time.tsx';
import { unreviewedBreakGlassOf } from '#app/modules/access/ui-grants.server.ts';
import { GRANT_LIMITS } from '#app/modules/access/vocabulary.ts';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { DATA_CATEGORIES } from '#app/modules/vocabulary.ts';
import { formObject, parseForm, parseParams } from '#app/utils/forms.server.ts';

export const access = requires('grants:break_glass');

export const meta: MetaFunction = () => [{ title: 'Break glass · Custodian' }];

const LABELS: Record<string, string> = {
  userId: 'End user id',
  categories: 'Data categories',
  reasonCode: 'Reason',
  justification: 'Justification',
  ticketRef: 'Ticket reference',
  durationMinutes: 'Duration',
};

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const search = attempt(() =>
    parseParams(BreakGlassSearchSchema, {
      user: new URL(args.request.url).searchParams.get('user') || undefined,
    }),
  );
  const [policies, unreviewed] = await Promise.all([
    listPolicies(),
    unreviewedBreakGlassOf(me.staffId),
  ]);
  return json({
    userId: search.user ?? '',
    policies: policies.map((p) => ({
      category: p.category,
      maxMinutes: Math.min(p.maxDurationMinutes, GRANT_LIMITS.breakGlassMaxMinutes),
    })),
    unreviewed,
    ticketPattern: ticketPattern().source,
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const form = formObject(await args.request.formData(), ['categories']);
  const text = (name: string) => (typeof form[name] === 'string' ? form[name].trim() : '');
  const fields = {
    userId: text('userId').toLowerCase(),
    categories: form.categories as string[],
    reasonCode: text('reasonCode') || undefined,
    justification: typeof form.justification === 'string' ? form.justification : '',
    ticketRef: text('ticketRef') || undefined,
    durationMinutes: text('durationMinutes') || undefined,
  };
  const values = {
    ...fields,
    justification: cleanFreeText(fields.justification),
    ticketRef: fields.ticketRef ? cleanFreeText(fields.ticketRef) : '',
  };
  const parsed = parseForm(breakGlassSchema(ticketPattern()), fields);
  if (!parsed.ok) return inputProblem(parsed.fieldErrors, values);
  await requireRecentSecondFactor(me, 'grant.break_glass', '/grants/break-glass');
  try {
    const { grantId } = await breakGlass({ staff: me, ...fields });
    return redirect(`/grants/${grantId}?broke=1`);
  } catch (error) {
    return grantProblem(error, values);
  }
}

export default function BreakGlassRoute() {
  const { userId, policies, unreviewed, ticketPattern } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const navigation = useNavigation();
  const errors: Record<string, string | undefined> = data?.fieldErrors ?? {};
  const values = (data?.values ?? {}) as Record<string, string | string[] | undefined>;
  const sent = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
  const [chosen, setChosen] = useState<string[]>(
    Array.isArray(values.categories) ? values.categories : [],
  );
  const relevant = policies.filter((p) => chosen.includes(p.category));
  const cap = Math.min(GRANT_LIMITS.breakGlassMaxMinutes, ...relevant.map((p) => p.maxMinutes));
  return (
    <div className="panel form-panel">
      <h1>Break glass: emergency access</h1>
      <div role="note" aria-labelledby="warning-title" className="break-glass-warning">
        <p id="warning-title">⚠ Only for an emergency that cannot wait for an approval.</p>
        <ul>
          <li>Access starts at once, without anyone’s approval, for at most one hour.</li>
          <li>
            Every security reviewer is alerted now, and a banner shows on every page while it lasts.
          </li>
          <li>
            A security reviewer other than you must review this use afterwards; until then you
            cannot break glass again.
          </li>
          <li>Everything you view under it is recorded in the audit trail, as always.</li>
        </ul>
        <p>
          If it can wait, <Link to="/grants/new">request access</Link> instead.
        </p>
      </div>

      {unreviewed ? (
        <p className="form-error" role="alert" data-testid="break-glass-blocked">
          Your break-glass use of <Time iso={unreviewed.createdAt} /> has not been reviewed yet, so
          you cannot break glass again until a security reviewer has reviewed it.{' '}
          <Link to={`/grants/${unreviewed.id}`}>See that grant</Link>.
        </p>
      ) : (
        <>
          <ErrorSummary errors={errors} labels={LABELS} />
          {data?.formError ? (
            <p className="form-error" role="alert">
              Refused: {data.formError}
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
                defaultValue={sent('userId') ?? userId}
                aria-invalid={errors.userId ? true : undefined}
                aria-describedby={describedBy('field-userId', false, errors.userId)}
                className="mono"
              />
              <FieldError id="field-userId" error={errors.userId} />
            </div>
            <fieldset
              id="field-categories"
              aria-describedby={describedBy('field-categories', false, errors.categories)}
              aria-invalid={errors.categories ? true : undefined}
            >
              <legend>Data categories</legend>
              {DATA_CATEGORIES.map((c) => (
                <label key={c}>
                  <input
                    type="checkbox"
                    name="categories"
                    value={c}
                    checked={chosen.includes(c)}
                    onChange={(e) => {
                      const on = e.currentTarget.checked;
                      setChosen((list) => (on ? [...list, c] : list.filter((x) => x !== c)));
                    }}
                  />{' '}
                  {categoryLabel(c)}
                </label>
              ))}
              <FieldError id="field-categories" error={errors.categories} />
            </fieldset>
            <ReasonField
              defaultValue={sent('reasonCode') ?? 'security_investigation'}
              error={errors.reasonCode}
            />
            <JustificationField
              defaultValue={sent('justification') ?? ''}
              error={errors.justification}
              hint={
                <>
                  The emergency, and why it cannot wait: at least 20 letters or digits in at least 3
                  different words (repeated characters count once). Card numbers typed here are
                  replaced by “{CARD_PLACEHOLDER}” before anything is stored.
                </>
              }
            />
            <div className="fields">
              <div className="field-xl">
                <label htmlFor="field-ticketRef">Ticket reference (optional)</label>
                <input
                  id="field-ticketRef"
                  name="ticketRef"
                  type="text"
                  autoComplete="off"
                  defaultValue={sent('ticketRef') ?? ''}
                  aria-invalid={errors.ticketRef ? true : undefined}
                  aria-describedby={describedBy('field-ticketRef', true, errors.ticketRef)}
                />
                <Hint id="field-ticketRef">
                  Format <code>{ticketPattern}</code>; card numbers are redacted.
                </Hint>
                <FieldError id="field-ticketRef" error={errors.ticketRef} />
              </div>
              <div className="field-lg">
                <label htmlFor="field-durationMinutes">Duration (minutes)</label>
                <input
                  id="field-durationMinutes"
                  name="durationMinutes"
                  type="number"
                  inputMode="numeric"
                  min={GRANT_LIMITS.minDurationMinutes}
                  max={cap}
                  defaultValue={sent('durationMinutes') ?? ''}
                  placeholder={String(cap)}
                  aria-invalid={errors.durationMinutes ? true : undefined}
                  aria-describedby={describedBy(
                    'field-durationMinutes',
                    true,
                    errors.durationMinutes,
                  )}
                />
                <Hint id="field-durationMinutes">
                  At most <span data-testid="duration-cap">{minutesText(cap)}</span>; empty means
                  that maximum.
                </Hint>
                <FieldError id="field-durationMinutes" error={errors.durationMinutes} />
              </div>
            </div>
            <div className="row">
              <button type="submit" className="danger" disabled={navigation.state === 'submitting'}>
                Break glass now
              </button>
              <Link className="button secondary" to="/grants">
                Cancel
              </Link>
            </div>
          </Form>
        </>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
