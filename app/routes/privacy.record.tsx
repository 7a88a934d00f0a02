import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { Time } from '#app/components/time.tsx';
import { requiresAny } from '#app/modules/auth/access.ts';
import { parseRecordForm, RecordQuerySchema } from '#app/modules/privacy/input.server.ts';
import {
  art15Of,
  currentRecord,
  recordVersion,
  recordVersions,
  retentionFor,
  retentionPolicyNames,
  saveRecord,
} from '#app/modules/privacy/record.server.ts';
import {
  LEGAL_BASES,
  LEGAL_BASIS_LABELS,
  RECIPIENT_KIND_LABELS,
  RECIPIENT_KINDS,
  rowField,
  type ProcessingRecord,
  type RowSection,
} from '#app/modules/privacy/record.ts';
import { RETENTION_LABELS, type RetentionCategory } from '#app/modules/retention/vocabulary.ts';
import { ConflictError, ForbiddenError, InputError } from '#app/utils/errors.ts';
import { formObject, parseParams } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

// The record of processing (GDPR Art. 30, ADR 036): read by privacy officers and security
// reviewers, any version; edited by privacy officers (`?edit=1`), each save a new version, audited.
// The access package's Art. 15 section is drawn from the current version: the page shows it too.

export const access = requiresAny('privacy:process', 'security:review');

export const meta: MetaFunction = () => [{ title: 'Record of processing · Custodian' }];

/** Blank rows offered for additions in each list section of the form. */
const BLANK_ROWS = 2;

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const query = (() => {
    try {
      return parseParams(
        RecordQuerySchema,
        Object.fromEntries(new URL(args.request.url).searchParams),
      );
    } catch (error) {
      return answer(error);
    }
  })();
  const canEdit = me.permissions.has('privacy:process');
  if (query.edit && !canEdit) {
    answer(
      new ForbiddenError('Editing the record of processing takes the privacy:process permission'),
    );
  }
  const current = await currentRecord();
  const shown =
    query.version === undefined || query.version === current.version
      ? current
      : await recordVersion(query.version).catch(answer);
  return json({
    shown,
    currentVersion: current.version,
    versions: await recordVersions(),
    information: await art15Of(shown.record),
    retention: await Promise.all(shown.record.categories.map((c) => retentionFor(c))),
    policies: await retentionPolicyNames(),
    canEdit,
    editing: Boolean(query.edit) && shown.version === current.version,
    saved: query.saved ?? null,
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  if (!me.permissions.has('privacy:process')) {
    return json(
      {
        fieldErrors: {
          form: 'Editing the record of processing takes the privacy:process permission',
        },
      },
      { status: 403 },
    );
  }
  const parsed = parseRecordForm(formObject(await args.request.formData()));
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  try {
    const saved = await saveRecord(me, parsed.baseVersion, parsed.record);
    return redirect(`/privacy/record?saved=${saved.version}`);
  } catch (error) {
    if (error instanceof ConflictError) {
      return json({ fieldErrors: { baseVersion: error.message } }, { status: 409 });
    }
    if (error instanceof InputError) {
      return json({ fieldErrors: { [error.field]: error.message } }, { status: 400 });
    }
    return answer(error);
  }
}

function FieldError({ id, error }: { id: string; error: string | undefined }) {
  return error ? (
    <p className="field-error" id={id} role="alert">
      {error}
    </p>
  ) : null;
}

const editorOf = (name: string | null) => name ?? 'Custodian (the first version, seeded)';

export default function RecordOfProcessingRoute() {
  const data = useLoaderData<typeof loader>();
  const { shown } = data;
  const record = shown.record;
  const old = shown.version !== data.currentVersion;
  return (
    <>
      <p>
        {data.canEdit ? (
          <Link to="/privacy">← Privacy requests</Link>
        ) : (
          <Link to="/security/access">← Security review</Link>
        )}
      </p>
      <h1>Record of processing</h1>
      <p className="muted">
        What we process, why and on which legal basis, for how long, and who receives it where (GDPR
        Art. 30). Every edit makes a new version; older versions stay readable. The access package’s
        information section is drawn from the current version.
      </p>
      {data.saved ? (
        <p role="status" className="notice">
          Saved as version {data.saved}.
        </p>
      ) : null}
      <p>
        <strong>
          Version {shown.version}
          {old ? ` (an older version; the current one is ${data.currentVersion})` : ' (current)'}
        </strong>{' '}
        · made by {editorOf(shown.editorName)} · <Time iso={shown.editedAt} />
      </p>
      {data.canEdit && !old && !data.editing ? (
        <p>
          <Link className="button" to="/privacy/record?edit=1">
            Edit the record
          </Link>
        </p>
      ) : null}
      {data.editing ? (
        <RecordForm record={record} version={shown.version} policies={data.policies} />
      ) : (
        <RecordView record={record} information={data.information} retention={data.retention} />
      )}
      <section>
        <h2>Versions</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Made by</th>
              <th scope="col">When (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {data.versions.map((v) => (
              <tr key={v.version}>
                <td>
                  {v.version === shown.version ? (
                    <span aria-current="page">Version {v.version}</span>
                  ) : (
                    <Link to={`/privacy/record?version=${v.version}`}>Version {v.version}</Link>
                  )}
                </td>
                <td>{editorOf(v.editorName)}</td>
                <td>
                  <Time iso={v.editedAt} zone={false} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}

/** A retention policy's name as the page shows it. */
const policyLabel = (category: string) =>
  RETENTION_LABELS[category as RetentionCategory] ?? category;

function RecordView({
  record,
  information,
  retention,
}: {
  record: ProcessingRecord;
  information: { heading: string; lines: readonly string[] }[];
  /** Each category's retention as retentionFor() answers it (with its policy's live period). */
  retention: string[];
}) {
  return (
    <>
      <section>
        <h2>Purposes and legal bases</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Purpose</th>
              <th scope="col">Legal basis</th>
              <th scope="col">What the user is told</th>
            </tr>
          </thead>
          <tbody>
            {record.purposes.map((p) => (
              <tr key={p.name}>
                <td>{p.name}</td>
                <td>{LEGAL_BASIS_LABELS[p.legalBasis]}</td>
                <td>{p.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Data categories and retention</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Category</th>
              <th scope="col">What it holds</th>
              <th scope="col">Retention</th>
              <th scope="col">Retention policy</th>
            </tr>
          </thead>
          <tbody>
            {record.categories.map((c, i) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td>{c.description}</td>
                <td>{retention[i] ?? c.retention}</td>
                <td>{c.policy ? policyLabel(c.policy) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Processors and recipients</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Recipient</th>
              <th scope="col">Kind</th>
              <th scope="col">Agreement</th>
              <th scope="col">Receives</th>
              <th scope="col">Transfers</th>
            </tr>
          </thead>
          <tbody>
            {record.recipients.map((r) => (
              <tr key={r.name}>
                <td>{r.name}</td>
                <td>{RECIPIENT_KIND_LABELS[r.kind]}</td>
                <td>{r.agreement}</td>
                <td>{r.receives}</td>
                <td>{r.transfers}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Sources</h2>
        <ul>
          {record.sources.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
        <h2>Rights</h2>
        <ul>
          {record.rights.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
      </section>
      <details className="panel">
        <summary>What an access package says (its Art. 15 section, from this version)</summary>
        {information.map((s) => (
          <div key={s.heading}>
            <h3>{s.heading}</h3>
            <ul>
              {s.lines.map((l, i) => (
                <li key={i}>{l}</li>
              ))}
            </ul>
          </div>
        ))}
      </details>
    </>
  );
}

type Row = Record<string, string>;

function RecordForm({
  record,
  version,
  policies,
}: {
  record: ProcessingRecord;
  version: number;
  /** The retention policies a category may name. */
  policies: string[];
}) {
  const result = useActionData<typeof action>();
  const errors: Record<string, string | undefined> = result?.fieldErrors ?? {};
  const invalid = (name: string) =>
    errors[name] ? { 'aria-invalid': true, 'aria-describedby': `${name}-error` } : {};
  const rowsOf = (section: RowSection, rows: readonly object[]): Row[] => [
    ...(rows as Row[]),
    ...Array.from({ length: BLANK_ROWS }, () => ({})),
  ];
  const text = (name: string, label: string, value: string | undefined, long = false) => (
    <div>
      <label htmlFor={name}>{label}</label>
      {long ? (
        <textarea id={name} name={name} rows={2} defaultValue={value ?? ''} {...invalid(name)} />
      ) : (
        <input id={name} name={name} type="text" defaultValue={value ?? ''} {...invalid(name)} />
      )}
      <FieldError id={`${name}-error`} error={errors[name]} />
    </div>
  );
  const choice = (
    name: string,
    label: string,
    value: string | undefined,
    options: readonly (readonly [string, string])[],
    empty = 'Choose…',
  ) => (
    <div>
      <label htmlFor={name}>{label}</label>
      <select id={name} name={name} defaultValue={value ?? ''} {...invalid(name)}>
        <option value="">{empty}</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
      <FieldError id={`${name}-error`} error={errors[name]} />
    </div>
  );
  const removal = (section: RowSection, index: number, isNew: boolean, what: string) =>
    isNew ? (
      <p className="muted">A new {what}: leave it blank to add nothing.</p>
    ) : (
      <label>
        <input type="checkbox" name={rowField(section, index, 'remove')} value="on" /> Remove this{' '}
        {what}
      </label>
    );
  const legend = (what: string, index: number, isNew: boolean) =>
    isNew ? `New ${what}` : `${what[0]!.toUpperCase()}${what.slice(1)} ${index + 1}`;
  return (
    <Form method="post" action="/privacy/record?edit=1" className="stack" noValidate>
      <input type="hidden" name="baseVersion" value={version} />
      <FieldError id="baseVersion-error" error={errors.baseVersion} />
      <FieldError id="form-error" error={errors.form} />
      <h2>Purposes and legal bases</h2>
      <FieldError id="purposes-error" error={errors.purposes} />
      {rowsOf('purposes', record.purposes).map((row, i) => {
        const isNew = i >= record.purposes.length;
        return (
          <fieldset key={i} className="panel stack">
            <legend>{legend('purpose', i, isNew)}</legend>
            {text(rowField('purposes', i, 'name'), 'Purpose', row.name)}
            {choice(
              rowField('purposes', i, 'legalBasis'),
              'Legal basis',
              row.legalBasis,
              LEGAL_BASES.map((b) => [b, LEGAL_BASIS_LABELS[b]] as const),
            )}
            {text(
              rowField('purposes', i, 'description'),
              'What the user is told',
              row.description,
              true,
            )}
            {removal('purposes', i, isNew, 'purpose')}
          </fieldset>
        );
      })}
      <h2>Data categories and retention</h2>
      <FieldError id="categories-error" error={errors.categories} />
      {rowsOf('categories', record.categories).map((row, i) => {
        const isNew = i >= record.categories.length;
        return (
          <fieldset key={i} className="panel stack">
            <legend>{legend('category', i, isNew)}</legend>
            {text(rowField('categories', i, 'name'), 'Category', row.name)}
            {text(rowField('categories', i, 'description'), 'What it holds', row.description, true)}
            {text(rowField('categories', i, 'retention'), 'Retention', row.retention, true)}
            {choice(
              rowField('categories', i, 'policy'),
              'Retention policy that removes it (its period is added for the user)',
              row.policy,
              policies.map((p) => [p, policyLabel(p)] as const),
              'None',
            )}
            {removal('categories', i, isNew, 'category')}
          </fieldset>
        );
      })}
      <h2>Processors and recipients</h2>
      <FieldError id="recipients-error" error={errors.recipients} />
      {rowsOf('recipients', record.recipients).map((row, i) => {
        const isNew = i >= record.recipients.length;
        return (
          <fieldset key={i} className="panel stack">
            <legend>{legend('recipient', i, isNew)}</legend>
            {text(rowField('recipients', i, 'name'), 'Recipient', row.name)}
            {choice(
              rowField('recipients', i, 'kind'),
              'Kind',
              row.kind,
              RECIPIENT_KINDS.map((k) => [k, RECIPIENT_KIND_LABELS[k]] as const),
            )}
            {text(rowField('recipients', i, 'agreement'), 'Agreement', row.agreement)}
            {text(rowField('recipients', i, 'receives'), 'What they receive', row.receives, true)}
            {text(
              rowField('recipients', i, 'transfers'),
              'Transfers outside the EEA and their safeguard (or “None”)',
              row.transfers,
            )}
            {removal('recipients', i, isNew, 'recipient')}
          </fieldset>
        );
      })}
      <h2>Sources and rights</h2>
      <div>
        <label htmlFor="sources">Where the data comes from (one line each)</label>
        <textarea
          id="sources"
          name="sources"
          rows={3}
          defaultValue={record.sources.join('\n')}
          {...invalid('sources')}
        />
        <FieldError id="sources-error" error={errors.sources} />
      </div>
      <div>
        <label htmlFor="rights">The user’s rights (one line each)</label>
        <textarea
          id="rights"
          name="rights"
          rows={4}
          defaultValue={record.rights.join('\n')}
          {...invalid('rights')}
        />
        <FieldError id="rights-error" error={errors.rights} />
      </div>
      <div className="row">
        <button type="submit">Save as version {version + 1}</button>
        <Link className="button secondary" to="/privacy/record">
          Cancel
        </Link>
      </div>
    </Form>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
