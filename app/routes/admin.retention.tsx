import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { describedBy, FieldError } from '#app/components/access/grant-ui.tsx';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Time } from '#app/components/time.tsx';
import { requires } from '#app/modules/auth/access.ts';
import { CATEGORIES } from '#app/modules/retention/categories.server.ts';
import { nextRunDue, recentRuns } from '#app/modules/retention/engine.server.ts';
import { EditParamsSchema, RetentionPolicySchema } from '#app/modules/retention/input.server.ts';
import {
  listRetentionPolicies,
  recentPolicyChanges,
  updateRetentionPolicy,
} from '#app/modules/retention/policies.server.ts';
import { RETENTION_LABELS, RETENTION_LIMITS } from '#app/modules/retention/vocabulary.ts';
import { formObject, parseForm, parseParams } from '#app/utils/forms.server.ts';
import { inputProblem } from '#app/utils/grant-problem.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt } from '#app/utils/http.server.ts';

export const access = requires('policy:manage');

export const meta: MetaFunction = () => [{ title: 'Retention · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const url = new URL(args.request.url);
  const { edit } = attempt(() =>
    parseParams(EditParamsSchema, Object.fromEntries(url.searchParams)),
  );
  const [policies, changes, runs] = await Promise.all([
    listRetentionPolicies(),
    recentPolicyChanges(),
    recentRuns(),
  ]);
  return json({
    edit: edit ?? null,
    policies: policies.map((p) => ({
      ...p,
      perUser: CATEGORIES[p.category].perUser,
      note: CATEGORIES[p.category].note ?? null,
    })),
    changes,
    runs,
    nextDue: nextRunDue().toISOString(),
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const form = formObject(await args.request.formData());
  const values = Object.fromEntries(
    Object.entries(form).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
  );
  const parsed = parseForm(RetentionPolicySchema, form);
  if (!parsed.ok) return inputProblem(parsed.fieldErrors, values);
  const saved = await updateRetentionPolicy(form, me).catch(answer);
  return json({ ok: true as const, saved: saved.category, changed: saved.changed.length });
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;
type PolicyRow = Data['policies'][number];

const days = (n: number) => (n === 1 ? '1 day' : `${n.toLocaleString('en-GB')} days`);

const policyCol = columnHelper<PolicyRow>();
const policyColumns = [
  policyCol.accessor('category', {
    header: 'Category',
    cell: (info) => (
      <>
        {RETENTION_LABELS[info.getValue()]}
        {info.row.original.note ? <span className="muted"> ({info.row.original.note})</span> : null}
      </>
    ),
  }),
  policyCol.accessor('periodDays', { header: 'Kept for', cell: (info) => days(info.getValue()) }),
  policyCol.accessor('reason', {
    header: 'Why, and on what basis',
    cell: (info) => (
      <>
        {info.getValue()}
        <br />
        <span className="muted">{info.row.original.legalBasis}</span>
      </>
    ),
  }),
  policyCol.display({
    id: 'suspendedBy',
    header: 'Suspended by',
    cell: (info) => {
      const p = info.row.original;
      if (!p.perUser) return <span className="muted">— (no end user)</span>;
      const by = [
        p.suspendedByHold ? 'a legal hold' : null,
        p.suspendedByOpenRequest ? 'an open request' : null,
      ].filter(Boolean);
      return by.length ? by.join(', ') : 'nothing';
    },
  }),
  policyCol.accessor('updatedAt', {
    header: 'Last changed',
    cell: (info) => (
      <>
        <Time iso={info.getValue()} />
        {info.row.original.updatedByName ? ` by ${info.row.original.updatedByName}` : ' (default)'}
      </>
    ),
  }),
  policyCol.display({
    id: 'edit',
    header: 'Edit',
    cell: (info) => (
      <Link to={`?edit=${info.row.original.category}#edit-policy`}>
        Edit
        <span className="visually-hidden">
          {' '}
          the {RETENTION_LABELS[info.row.original.category].toLowerCase()} policy
        </span>
      </Link>
    ),
  }),
];

const FIELD_LABELS: Record<string, string> = {
  periodDays: 'period',
  reason: 'reason',
  legalBasis: 'legal basis',
  suspendedByHold: 'legal hold suspends',
  suspendedByOpenRequest: 'open request suspends',
};
function describeChange(changes: Record<string, { from: unknown; to: unknown } | undefined>) {
  return Object.entries(changes)
    .map(([field, c]) => {
      if (!c) return '';
      if (field === 'periodDays') return `period ${days(Number(c.from))} → ${days(Number(c.to))}`;
      if (typeof c.to === 'boolean') return `${FIELD_LABELS[field]}: ${c.to ? 'yes' : 'no'}`;
      return `${FIELD_LABELS[field] ?? field} reworded`;
    })
    .filter(Boolean)
    .join('; ');
}

const changeCol = columnHelper<Data['changes'][number]>();
const changeColumns = [
  changeCol.accessor('changedAt', {
    header: 'When',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
  changeCol.accessor('changedByName', { header: 'Who' }),
  changeCol.accessor('category', {
    header: 'Policy',
    cell: (info) => RETENTION_LABELS[info.getValue()],
  }),
  changeCol.accessor('changes', {
    header: 'What changed',
    cell: (info) =>
      describeChange(info.getValue() as Record<string, { from: unknown; to: unknown }>),
  }),
];

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const runCol = columnHelper<Data['runs'][number]>();
const runColumns = [
  runCol.accessor('startedAt', {
    header: 'Started',
    cell: (info) => <Time iso={info.getValue()} />,
  }),
  runCol.accessor('trigger', {
    header: 'By',
    cell: (info) =>
      ({
        schedule: 'Daily job',
        command: 'Command line',
        console: 'Console',
        first_start: 'First start (demo)',
      })[info.getValue()] ?? info.getValue(),
  }),
  runCol.accessor('state', {
    header: 'State',
    cell: (info) =>
      info.getValue() === 'done'
        ? info.row.original.resumed
          ? `Done (resumed ${info.row.original.resumed}×)`
          : 'Done'
        : 'Running or interrupted (the next run continues it)',
  }),
  runCol.accessor('removed', {
    header: 'Removed',
    cell: (info) => info.getValue().toLocaleString('en-GB'),
  }),
  runCol.accessor('categories', {
    header: 'By category',
    cell: (info) => {
      const some = info.getValue().filter((c) => c.removed > 0);
      return some.length
        ? some
            .map(
              (c) =>
                `${RETENTION_LABELS[c.category]} ${c.removed.toLocaleString('en-GB')} (${seconds(c.durationMs)})`,
            )
            .join(', ')
        : 'Nothing past its period';
    },
  }),
  runCol.accessor('durationMs', { header: 'Duration', cell: (info) => seconds(info.getValue()) }),
];

export default function RetentionRoute() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const problem = result && !result.ok ? result : null;
  const failed = problem ? String(problem.values.category ?? '') : '';
  const editing = data.policies.find((p) => p.category === (failed || data.edit));
  const lastRun = data.runs[0];
  return (
    <>
      <h1>Retention</h1>
      <p className="muted lede">
        Each category of data is kept for its period, then removed by the daily purge, in batches,
        with a count per category in the audit trail (never the rows). A legal hold or an open
        privacy request of the user suspends the policies that say so. The audit trail&rsquo;s
        contents are kept at least {days(RETENTION_LIMITS.auditContentsMinDays)} (six years), fixed
        in the database.
      </p>
      <p data-testid="next-run">
        Next run due <Time iso={data.nextDue} />.{' '}
        {lastRun ? (
          <>
            Last run started <Time iso={lastRun.startedAt} />:{' '}
            {lastRun.state === 'done'
              ? `removed ${lastRun.removed.toLocaleString('en-GB')} rows in ${seconds(lastRun.durationMs)}.`
              : 'interrupted; the next run continues it.'}
          </>
        ) : (
          'No run yet.'
        )}{' '}
        <span className="muted">
          Run it now, or see what it would remove: <code>npx custodian retention run</code>,{' '}
          <code>npx custodian retention plan</code>.
        </span>
      </p>
      {result?.ok ? (
        <p className="notice" role="status" data-testid="policy-saved">
          {result.changed
            ? `Saved the ${RETENTION_LABELS[result.saved].toLowerCase()} policy. The change is in the audit trail.`
            : 'Nothing changed.'}
        </p>
      ) : null}
      {problem && !editing ? (
        <p className="form-error" role="alert">
          {Object.values(problem.fieldErrors)[0]}
        </p>
      ) : null}

      <section aria-labelledby="policies">
        <h2 id="policies">Policies</h2>
        <DataTable
          caption="One policy per category of data"
          captionHidden
          columns={policyColumns}
          data={data.policies}
          getRowId={(r) => r.category}
          empty="No policy."
          paged={false}
          testId="retention-policies"
        />
      </section>

      {editing ? (
        <PolicyForm
          key={editing.category}
          policy={editing}
          errors={failed === editing.category ? problem!.fieldErrors : {}}
          sent={failed === editing.category ? problem!.values : {}}
        />
      ) : null}

      <section aria-labelledby="runs">
        <h2 id="runs">Last runs</h2>
        <DataTable
          caption="The latest purge runs, newest first"
          captionHidden
          columns={runColumns}
          data={data.runs}
          getRowId={(r) => r.id}
          empty="No run yet: the daily job has not run."
          paged={false}
          testId="retention-runs"
        />
      </section>

      <section aria-labelledby="changes">
        <h2 id="changes">Changes to the policies</h2>
        <DataTable
          caption="Who changed which policy, and when, newest first"
          captionHidden
          columns={changeColumns}
          data={data.changes}
          getRowId={(r) => String(r.id)}
          empty="No change yet: every policy holds its default."
          paged={false}
          testId="retention-changes"
        />
      </section>
    </>
  );
}

function PolicyForm({
  policy,
  errors,
  sent,
}: {
  policy: PolicyRow;
  errors: Record<string, string | undefined>;
  sent: Record<string, string | string[] | undefined>;
}) {
  const label = RETENTION_LABELS[policy.category];
  const id = (name: string) => `${policy.category}-${name}`;
  const value = (name: string) => {
    const v = sent[name];
    return typeof v === 'string' ? v : undefined;
  };
  const invalid = (name: string) => (errors[name] ? true : undefined);
  const min =
    policy.category === 'audit_contents'
      ? RETENTION_LIMITS.auditContentsMinDays
      : RETENTION_LIMITS.minDays;
  return (
    <section className="panel" id="edit-policy" aria-labelledby="edit-title">
      <h2 id="edit-title">Edit the {label.toLowerCase()} policy</h2>
      <Form method="post" noValidate className="policy-form">
        <input type="hidden" name="category" value={policy.category} />
        <div className="field-md">
          <label htmlFor={id('periodDays')}>Kept for (days)</label>
          <input
            id={id('periodDays')}
            name="periodDays"
            type="number"
            inputMode="numeric"
            min={min}
            max={RETENTION_LIMITS.maxDays}
            defaultValue={value('periodDays') ?? policy.periodDays}
            aria-invalid={invalid('periodDays')}
            aria-describedby={describedBy(id('periodDays'), false, errors.periodDays)}
          />
          <FieldError id={id('periodDays')} error={errors.periodDays} />
        </div>
        <div className="field-2xl">
          <label htmlFor={id('reason')}>Reason</label>
          <textarea
            id={id('reason')}
            name="reason"
            rows={2}
            maxLength={RETENTION_LIMITS.reasonMaxLength}
            defaultValue={value('reason') ?? policy.reason}
            aria-invalid={invalid('reason')}
            aria-describedby={describedBy(id('reason'), false, errors.reason)}
          />
          <FieldError id={id('reason')} error={errors.reason} />
        </div>
        <div className="field-2xl">
          <label htmlFor={id('legalBasis')}>Legal basis</label>
          <input
            id={id('legalBasis')}
            name="legalBasis"
            type="text"
            maxLength={RETENTION_LIMITS.basisMaxLength}
            defaultValue={value('legalBasis') ?? policy.legalBasis}
            aria-invalid={invalid('legalBasis')}
            aria-describedby={describedBy(id('legalBasis'), false, errors.legalBasis)}
          />
          <FieldError id={id('legalBasis')} error={errors.legalBasis} />
        </div>
        {policy.perUser ? (
          <>
            <div>
              <input
                id={id('suspendedByHold')}
                name="suspendedByHold"
                type="checkbox"
                defaultChecked={policy.suspendedByHold}
                aria-invalid={invalid('suspendedByHold')}
                aria-describedby={describedBy(id('suspendedByHold'), false, errors.suspendedByHold)}
              />{' '}
              <label htmlFor={id('suspendedByHold')}>A legal hold on the user suspends it</label>
              <FieldError id={id('suspendedByHold')} error={errors.suspendedByHold} />
            </div>
            <div>
              <input
                id={id('suspendedByOpenRequest')}
                name="suspendedByOpenRequest"
                type="checkbox"
                defaultChecked={policy.suspendedByOpenRequest}
                aria-invalid={invalid('suspendedByOpenRequest')}
                aria-describedby={describedBy(
                  id('suspendedByOpenRequest'),
                  false,
                  errors.suspendedByOpenRequest,
                )}
              />{' '}
              <label htmlFor={id('suspendedByOpenRequest')}>
                An open privacy request of the user suspends it
              </label>
              <FieldError id={id('suspendedByOpenRequest')} error={errors.suspendedByOpenRequest} />
            </div>
          </>
        ) : (
          <p className="muted">This data belongs to no end user: no hold or request suspends it.</p>
        )}
        <div className="submit-slot">
          <button type="submit">Save {label.toLowerCase()} policy</button>
        </div>
      </Form>
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
