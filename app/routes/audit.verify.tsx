import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import {
  Form,
  Link,
  useActionData,
  useLoaderData,
  useNavigation,
  useRevalidator,
} from '@remix-run/react';
import { useEffect } from 'react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { VerifyRequestSchema } from '#app/modules/audit/input.server.ts';
import {
  currentIntake,
  latestVerificationRun,
  startVerificationRun,
} from '#app/modules/audit/runs.server.ts';
import { auditLogTrust } from '#app/modules/audit/trust.server.ts';
import { LogTrustPanel } from '#app/components/audit/log-trust.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';
import { utc } from '#app/components/time.tsx';

export const access = requires('audit:verify');

export const meta: MetaFunction = () => [{ title: 'Verify the audit trail · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const [run, intake] = await Promise.all([latestVerificationRun(), currentIntake()]);
  return json({
    trust: auditLogTrust(),
    intake,
    run: run && {
      id: run.id,
      staffName: run.staffName,
      startedAt: run.startedAt.toISOString(),
      finishedAt: run.finishedAt?.toISOString() ?? null,
      total: run.total,
      done: run.done,
      ok: run.ok,
      firstBadSeq: run.firstBadSeq,
      result: run.result,
    },
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const parsed = parseForm(VerifyRequestSchema, formObject(await args.request.formData()));
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  await startVerificationRun(me.staffId);
  return redirect('/audit/verify');
}

function Progress({ done, total }: { done: number; total: number }) {
  const max = Math.max(total, done, 1);
  const percent = Math.floor((done / max) * 100);
  return (
    <div>
      <label htmlFor="verify-progress">
        Checked {done.toLocaleString('en')} of {total.toLocaleString('en')} entries
      </label>
      <progress id="verify-progress" value={done} max={max} aria-valuetext={`${percent}%`} />
      <p className="muted tight" data-testid="verify-percent">
        {percent}%
      </p>
    </div>
  );
}

export default function AuditVerifyRoute() {
  const { run, trust, intake } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const revalidator = useRevalidator();
  const running = Boolean(run && !run.finishedAt);
  const revalidate = revalidator.revalidate;
  const idle = revalidator.state === 'idle';

  // While a run is in progress, read its progress again every second.
  useEffect(() => {
    if (!running || !idle) return;
    const timer = setTimeout(revalidate, 1000);
    return () => clearTimeout(timer);
  }, [running, idle, revalidate]);

  const problems = run?.result?.problems ?? [];
  return (
    <>
      <p>
        <Link to="/audit">← Audit trail</Link>
      </p>
      <h1>Verify the audit trail</h1>
      <p>
        Verification recomputes every entry’s hash and link, the tree’s root at every checkpoint
        (stored and published), and checks each checkpoint’s signature against the trusted keys,
        which never come from the database.
      </p>
      <Form method="post">
        <input type="hidden" name="intent" value="verify" />
        {actionData?.fieldErrors ? (
          <p className="form-error" role="alert">
            {Object.values(actionData.fieldErrors)[0]}
          </p>
        ) : null}
        <button
          type="submit"
          disabled={running || navigation.state !== 'idle'}
          className={running ? 'busy' : undefined}
        >
          {running ? 'Verification in progress…' : 'Verify now'}
        </button>
      </Form>
      <p data-testid="intake">
        Waiting for the sequencer: {intake.depth.toLocaleString('en')}{' '}
        {intake.depth === 1 ? 'entry' : 'entries'}
        {intake.oldestSeconds !== null ? (
          <>, the oldest for {intake.oldestSeconds.toLocaleString('en')} s</>
        ) : null}
        . <span className="muted">A queue that only grows means the sequencer has stopped.</span>
      </p>
      <section className="panel spaced-top" aria-labelledby="run-title">
        <h2 id="run-title" className="panel-heading">
          {running ? 'Verification in progress' : 'Latest verification'}
        </h2>
        {!run ? (
          <p className="empty">No verification has run yet.</p>
        ) : running ? (
          <div aria-live="polite">
            <p>
              Started {utc(run.startedAt, 'second')} by{' '}
              {run.staffName === null ? (
                'an unknown staff member'
              ) : (
                <StaffName name={run.staffName} />
              )}
              .
            </p>
            <Progress done={run.done} total={run.total} />
          </div>
        ) : (
          <>
            <dl className="facts">
              <dt>Result</dt>
              <dd data-testid="verify-result">
                {run.ok === true ? (
                  <span className="badge active">ok — the trail is intact</span>
                ) : run.ok === false ? (
                  <span className="badge disabled">problems found</span>
                ) : (
                  <span className="badge disabled">could not complete</span>
                )}
              </dd>
              <dt>Started</dt>
              <dd>
                {utc(run.startedAt, 'second')} by{' '}
                {run.staffName === null ? (
                  'an unknown staff member'
                ) : (
                  <StaffName name={run.staffName} />
                )}
              </dd>
              <dt>Finished</dt>
              <dd>{utc(run.finishedAt, 'second')}</dd>
              <dt>Entries covered</dt>
              <dd>{(run.result?.entries ?? run.done).toLocaleString('en')}</dd>
              {run.result?.purged ? (
                <>
                  <dt>Contents removed by retention policy</dt>
                  <dd>{run.result.purged.toLocaleString('en')}</dd>
                </>
              ) : null}
              <dt>Checkpoints checked</dt>
              <dd>{(run.result?.checkpoints ?? 0).toLocaleString('en')}</dd>
              {run.firstBadSeq !== null ? (
                <>
                  <dt>First bad entry</dt>
                  <dd>
                    <Link to={`/audit/${run.firstBadSeq}`}>#{run.firstBadSeq}</Link>
                  </dd>
                </>
              ) : null}
            </dl>
            {run.result?.error ? (
              <p className="form-error" role="alert">
                The run could not read the log: {run.result.error}
              </p>
            ) : null}
            {problems.length ? (
              <>
                <h3>Problems</h3>
                <ul data-testid="verify-problems">
                  {problems.map((p, i) => (
                    <li key={`${i}-${p.kind}-${p.seq ?? ''}`}>
                      <span className="badge disabled">{p.kind}</span>{' '}
                      {p.seq !== null ? (
                        <>
                          <Link to={`/audit/${p.seq}`}>#{p.seq}</Link>{' '}
                        </>
                      ) : null}
                      {p.message}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </>
        )}
      </section>
      <LogTrustPanel trust={trust} />
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
