import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { listPolicies, PolicySchema, updatePolicy } from '#app/modules/access/policies.server.ts';
import { grantProblem, inputProblem } from '#app/utils/grant-problem.server.ts';
import {
  categoryLabel,
  describedBy,
  FieldError,
  minutesText,
} from '#app/components/access/grant-ui.tsx';
import { Time } from '#app/components/time.tsx';
import { APPROVER_PERMISSIONS, GRANT_LIMITS } from '#app/modules/access/vocabulary.ts';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { PERMISSIONS } from '#app/modules/auth/permissions.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';

export const access = requires('policy:manage');

export const meta: MetaFunction = () => [{ title: 'Access policies · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const policies = await listPolicies();
  return json({ policies });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const form = formObject(await args.request.formData());
  const values = Object.fromEntries(
    Object.entries(form).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
  );
  const parsed = parseForm(PolicySchema, form);
  if (!parsed.ok) return inputProblem(parsed.fieldErrors, values);
  await requireRecentSecondFactor(me, 'policy.change', '/admin/policies');
  try {
    const saved = await updatePolicy({ ...parsed.value, by: me });
    return json({ ok: true as const, saved: saved.category });
  } catch (error) {
    return grantProblem(error, values);
  }
}

export default function PoliciesRoute() {
  const { policies } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const problem = result && !result.ok ? result : null;
  const failedCategory = problem ? (problem.values.category ?? '') : '';
  return (
    <>
      <h1>Access policies</h1>
      <p className="muted lede">
        Each data category has a policy: how long a grant to it may last (at most{' '}
        {minutesText(GRANT_LIMITS.maxDurationCapMinutes)}), how many people must approve it, and
        which permission those approvers must hold. A request for several categories must satisfy
        each of them: the most approvals, every approver permission, the shortest duration.
        Tightening a policy also binds requests still waiting; loosening one does not weaken them.
      </p>
      {result?.ok ? (
        <p className="notice" role="status" data-testid="policy-saved">
          Saved the {categoryLabel(result.saved).toLowerCase()} policy. The change is in the audit
          trail.
        </p>
      ) : null}
      {problem && !problem.formError && !policies.some((p) => p.category === failedCategory) ? (
        <p className="form-error" role="alert">
          {Object.values(problem.fieldErrors)[0]}
        </p>
      ) : null}
      {problem?.formError ? (
        <p className="form-error" role="alert">
          Refused: {problem.formError}
        </p>
      ) : null}
      <div>
        {policies.map((p) => {
          const errors: Record<string, string | undefined> =
            failedCategory === p.category ? problem!.fieldErrors : {};
          const sent = (name: string) => {
            const value = failedCategory === p.category ? problem!.values[name] : undefined;
            return typeof value === 'string' ? value : undefined;
          };
          const id = (name: string) => `${p.category}-${name}`;
          return (
            <section className="panel" key={p.category} aria-labelledby={id('title')}>
              <div className="policy-title">
                <h2 id={id('title')}>{categoryLabel(p.category)}</h2>
                <UpdatedBy updatedAt={p.updatedAt} />
              </div>
              <Form method="post" noValidate className="policy-form">
                <input type="hidden" name="category" value={p.category} />
                <div className="field-md">
                  <label htmlFor={id('maxDurationMinutes')}>Maximum duration (minutes)</label>
                  <input
                    id={id('maxDurationMinutes')}
                    name="maxDurationMinutes"
                    type="number"
                    inputMode="numeric"
                    min={GRANT_LIMITS.minDurationMinutes}
                    max={GRANT_LIMITS.maxDurationCapMinutes}
                    defaultValue={sent('maxDurationMinutes') ?? p.maxDurationMinutes}
                    aria-invalid={errors.maxDurationMinutes ? true : undefined}
                    aria-describedby={describedBy(
                      id('maxDurationMinutes'),
                      false,
                      errors.maxDurationMinutes,
                    )}
                  />
                  <FieldError id={id('maxDurationMinutes')} error={errors.maxDurationMinutes} />
                </div>
                <div className="field-sm">
                  <label htmlFor={id('approvalsNeeded')}>Approvals needed</label>
                  <input
                    id={id('approvalsNeeded')}
                    name="approvalsNeeded"
                    type="number"
                    inputMode="numeric"
                    min={1}
                    max={GRANT_LIMITS.maxApprovals}
                    defaultValue={sent('approvalsNeeded') ?? p.approvalsNeeded}
                    aria-invalid={errors.approvalsNeeded ? true : undefined}
                    aria-describedby={describedBy(
                      id('approvalsNeeded'),
                      false,
                      errors.approvalsNeeded,
                    )}
                  />
                  <FieldError id={id('approvalsNeeded')} error={errors.approvalsNeeded} />
                </div>
                <div className="field-2xl">
                  <label htmlFor={id('approverPermission')}>Approvers must hold</label>
                  <select
                    id={id('approverPermission')}
                    name="approverPermission"
                    defaultValue={sent('approverPermission') ?? p.approverPermission}
                    aria-invalid={errors.approverPermission ? true : undefined}
                    aria-describedby={describedBy(
                      id('approverPermission'),
                      false,
                      errors.approverPermission,
                    )}
                  >
                    {APPROVER_PERMISSIONS.map((code) => (
                      <option key={code} value={code}>
                        {code} — {PERMISSIONS[code]}
                      </option>
                    ))}
                  </select>
                  <FieldError id={id('approverPermission')} error={errors.approverPermission} />
                </div>
                <div className="submit-slot">
                  <button type="submit">
                    Save {categoryLabel(p.category).toLowerCase()} policy
                  </button>
                </div>
              </Form>
            </section>
          );
        })}
      </div>
    </>
  );
}

function UpdatedBy({ updatedAt }: { updatedAt: string }) {
  return (
    <p className="muted">
      Last changed <Time iso={updatedAt} />
    </p>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
