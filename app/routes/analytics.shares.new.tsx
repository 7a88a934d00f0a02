import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { ErrorSummary, FieldError } from '#app/components/access/grant-ui.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { ShareFormSchema, ShareNewQuerySchema } from '#app/modules/analytics/input.server.ts';
import { releaseSummaries } from '#app/modules/analytics/read.server.ts';
import {
  findShare,
  shareableRecipients,
  shareReleases,
} from '#app/modules/analytics/shares.server.ts';
import { RELEASE_KINDS } from '#app/modules/analytics/vocabulary.ts';
import { requires } from '#app/modules/auth/access.ts';
import { countOf } from '#app/modules/labels.ts';
import { currentRecord } from '#app/modules/privacy/record.server.ts';
import { InputError } from '#app/utils/errors.ts';
import { formObject, parseForm, parseParams } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt } from '#app/utils/http.server.ts';

// Sharing released figures (issue 15, ADR 037): a holder of analytics:share chooses stored
// releases and a recipient that the current record of processing lists as an analytics provider.
// The share is logged and audited in one transaction; the page then offers its CSV (each download
// audited). The route composes the two capabilities: privacy (the record) depends on analytics,
// so analytics cannot read the record itself.

export const access = requires('analytics:share');

export const meta: MetaFunction = () => [{ title: 'Share released figures · Custodian' }];

const LABELS: Record<string, string> = {
  recipient: 'Recipient',
  release: 'Released figures',
};

const KIND_LABELS: Record<(typeof RELEASE_KINDS)[number], string> = {
  daily: 'Daily releases (a UTC day)',
  weekly: 'Weekly releases (an ISO week)',
  monthly: 'Monthly releases (a calendar month)',
  preferences: 'Opt-out snapshots (a month)',
};

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const query = attempt(() =>
    parseParams(ShareNewQuerySchema, Object.fromEntries(new URL(args.request.url).searchParams)),
  );
  const current = await currentRecord();
  const record = { version: current.version, recipients: current.record.recipients };
  const [releases, shared] = await Promise.all([
    releaseSummaries(),
    query.shared ? findShare(query.shared) : Promise.resolve(null),
  ]);
  return json({
    recordVersion: record.version,
    recipients: shareableRecipients(record).map((r) => r.name),
    releases,
    shared,
    canReadLog: me.permissions.has('privacy:process') || me.permissions.has('security:review'),
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const form = formObject(await args.request.formData(), ['release']);
  const parsed = parseForm(ShareFormSchema, form);
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  const current = await currentRecord();
  const record = { version: current.version, recipients: current.record.recipients };
  try {
    const made = await shareReleases(me, parsed.value, record);
    return redirect(`/analytics/shares/new?shared=${made.id}`);
  } catch (error) {
    if (error instanceof InputError) {
      return json({ fieldErrors: { [error.field]: error.message } }, { status: 400 });
    }
    return answer(error);
  }
}

/** Ticks or clears every box of one kind's list (a convenience; the form works without it). */
function setAll(fieldset: string, checked: boolean) {
  document
    .querySelectorAll<HTMLInputElement>(`#${fieldset} input[type=checkbox]`)
    .forEach((box) => {
      box.checked = checked;
    });
}

export default function ShareFiguresRoute() {
  const data = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const errors: Record<string, string | undefined> = actionData?.fieldErrors ?? {};
  return (
    <>
      <p>
        <Link to="/analytics">← Usage analytics</Link>
        {data.canReadLog ? (
          <>
            {' · '}
            <Link to="/analytics/shares">Sharing log</Link>
          </>
        ) : null}
      </p>
      <h1>Share released figures</h1>
      <p className="muted">
        The privacy policy lets aggregated figures go to analytics providers. Only stored releases
        can be shared (every figure already noisy, no cell under k); never contributions, events or
        a period that was not released. The CSV is the one the analytics page downloads. Each share
        is written to the sharing log and the audit trail (recipient, releases, rows and the CSV’s
        SHA-256, never the figures).
      </p>
      {data.shared ? (
        <div className="notice" role="status" data-testid="share-made">
          <p className="flush">
            Shared with <strong>{data.shared.recipientName}</strong>:{' '}
            {countOf(data.shared.releases, 'release')}, {countOf(data.shared.rows, 'row')}. SHA-256{' '}
            <code className="wrap-anywhere">{data.shared.sha256}</code>.
          </p>
          <p className="flush-bottom">
            <a className="button" href={`/analytics/shares/${data.shared.id}/csv`} download>
              Download the CSV of this share
            </a>
          </p>
        </div>
      ) : null}
      <ErrorSummary errors={errors} labels={LABELS} />
      {data.recipients.length === 0 ? (
        <section className="panel" aria-labelledby="no-recipient">
          <h2 id="no-recipient" className="panel-heading">
            No analytics provider in the record
          </h2>
          <p className="empty">
            The record of processing (version {data.recordVersion}) lists no recipient of the kind
            “analytics provider”, so there is nobody to share figures with. A privacy officer adds
            one on the record of processing first.
          </p>
        </section>
      ) : data.releases.length === 0 ? (
        <section className="panel" aria-labelledby="no-release">
          <h2 id="no-release" className="panel-heading">
            No release yet
          </h2>
          <p className="empty">
            No analytics release has been published yet, so there is nothing to share. The build job
            runs at start-up and every hour.
          </p>
        </section>
      ) : (
        <Form method="post" className="form-panel" noValidate>
          <div>
            <label htmlFor="field-recipient">Recipient</label>
            <select
              id="field-recipient"
              name="recipient"
              defaultValue=""
              aria-invalid={errors.recipient ? true : undefined}
              aria-describedby={`field-recipient-hint${errors.recipient ? ' field-recipient-error' : ''}`}
            >
              <option value="" disabled>
                Choose a recipient…
              </option>
              {data.recipients.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
            <p className="hint" id="field-recipient-hint">
              The analytics providers of the record of processing, version {data.recordVersion}.
            </p>
            <FieldError id="field-recipient" error={errors.recipient} />
          </div>
          <div id="field-release">
            <h2>Released figures</h2>
            <FieldError id="field-release" error={errors.release} />
            {RELEASE_KINDS.map((kind) => {
              const ofKind = data.releases.filter((r) => r.kind === kind);
              if (ofKind.length === 0) return null;
              const id = `releases-${kind}`;
              return (
                <fieldset key={kind} id={id} className="release-kind">
                  <legend>
                    {KIND_LABELS[kind]} — {ofKind.length}
                  </legend>
                  <p className="row flush-top">
                    <button type="button" className="secondary" onClick={() => setAll(id, true)}>
                      Choose all {ofKind.length}
                    </button>
                    <button type="button" className="secondary" onClick={() => setAll(id, false)}>
                      Clear
                    </button>
                  </p>
                  <div className="release-choices">
                    {ofKind.map((r) => (
                      <label key={r.id}>
                        <input type="checkbox" name="release" value={r.id} />
                        <span>
                          {r.periodStart}{' '}
                          <span className="muted">({countOf(r.cells, 'figure')})</span>
                        </span>
                      </label>
                    ))}
                  </div>
                </fieldset>
              );
            })}
          </div>
          <p>
            <button type="submit">Share and log</button>
          </p>
        </Form>
      )}
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
