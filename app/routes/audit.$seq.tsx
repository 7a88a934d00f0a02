import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { AuditEntryParamsSchema } from '#app/modules/audit/input.server.ts';
import { getAuditEntry } from '#app/modules/audit/trail.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { utc } from '#app/components/time.tsx';
import { unnamedActor } from '#app/modules/labels.ts';

export const access = requires('audit:read');

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `Audit entry ${data ? `#${data.entry.seq}` : ''} · Custodian` },
];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const { seq } = attempt(() => parseParams(AuditEntryParamsSchema, args.params));
  const entry = await getAuditEntry(seq);
  if (!entry) throw new Response('No audit entry has this number (yet).', { status: 404 });
  const b64 = (b: Buffer) => b.toString('base64');
  return json({
    entry: {
      seq: entry.seq,
      time: entry.time?.toISOString() ?? null,
      action: entry.action,
      description: entry.description,
      invalid: entry.invalid,
      purgedBy: entry.purgedBy,
      category: entry.body?.category ?? null,
      outcome: entry.outcome,
      actor: entry.body?.actor ?? null,
      actorName: entry.actorName,
      subjectStaffId: entry.body?.subjectStaffId ?? null,
      subjectName: entry.subjectName,
      userId: entry.body?.userId ?? null,
      grantId: entry.body?.grantId ?? null,
      privacyRequestId: entry.body?.privacyRequestId ?? null,
      sessionId: entry.body?.sessionId ?? null,
      purpose: entry.body?.purpose ?? null,
      client: entry.body?.client ?? { address: null, userAgent: null },
      // An invalid entry's bytes, decoded and quoted (control characters escaped), never parsed.
      pretty: entry.body
        ? JSON.stringify(entry.body, null, 2)
        : entry.purgedBy !== null
          ? ''
          : JSON.stringify(entry.text),
      bytes: entry.bytes,
    },
    leafHash: b64(entry.leafHash),
    leafHashHex: entry.leafHash.toString('hex'),
    storedLeafMatches: entry.storedLeafHash ? entry.storedLeafHash.equals(entry.leafHash) : null,
    proof: entry.proof && {
      treeSize: entry.proof.treeSize,
      root: b64(entry.proof.root),
      note: entry.proof.note,
      createdAt: entry.proof.createdAt.toISOString(),
      hashes: entry.proof.hashes.map(b64),
      verifies: entry.proof.verifies,
      signature: entry.proof.signature,
    },
  });
}

function Id({ value }: { value: string | null | undefined }) {
  return value ? <code>{value}</code> : <span className="muted">—</span>;
}

function YesNo({ yes, label }: { yes: boolean; label: string }) {
  return (
    <strong className={`badge yes-no ${yes ? 'active' : 'disabled'}`} data-testid={label}>
      {yes ? 'yes' : 'no'}
    </strong>
  );
}

export default function AuditEntryRoute() {
  const { entry, leafHash, leafHashHex, storedLeafMatches, proof } = useLoaderData<typeof loader>();
  return (
    <>
      <p>
        <Link to="/audit">← Audit trail</Link>
      </p>
      <h1>Audit entry #{entry.seq}</h1>
      <section className="panel" aria-labelledby="what-title">
        <h2 id="what-title" className="panel-heading">
          {entry.description}
        </h2>
        <dl className="facts">
          <dt>Time</dt>
          <dd>{utc(entry.time, 'millisecond')}</dd>
          <dt>Action</dt>
          <dd>
            <code>{entry.action}</code>{' '}
            {entry.category ? <span className="muted">({entry.category})</span> : null}
          </dd>
          <dt>Outcome</dt>
          <dd>
            <span className={`badge ${entry.outcome === 'allowed' ? 'active' : 'disabled'}`}>
              {entry.outcome}
            </span>
          </dd>
          <dt>Actor</dt>
          <dd>
            {entry.actor && 'service' in entry.actor ? (
              <>
                Service token <code>{entry.actor.service}</code> <Id value={entry.actor.tokenId} />
                <span className="muted"> (the product, through the service API)</span>
              </>
            ) : entry.actor ? (
              <>
                {entry.actorName === null ? (
                  'Unknown staff member'
                ) : (
                  <StaffName name={entry.actorName} />
                )}{' '}
                <Id value={entry.actor.staffId} />
                {entry.actor.roles.length ? (
                  <span className="muted"> as {entry.actor.roles.join(', ')}</span>
                ) : null}
              </>
            ) : (
              <span className="muted">
                {unnamedActor(entry.action).name} ({unnamedActor(entry.action).title.toLowerCase()})
              </span>
            )}
          </dd>
          <dt>About staff member</dt>
          <dd>
            {entry.subjectStaffId ? (
              <>
                {entry.subjectName === null ? (
                  'Unknown staff member'
                ) : (
                  <StaffName name={entry.subjectName} />
                )}{' '}
                <Id value={entry.subjectStaffId} />
              </>
            ) : (
              <span className="muted">—</span>
            )}
          </dd>
          <dt>End user</dt>
          <dd>
            <Id value={entry.userId} />
          </dd>
          <dt>Grant</dt>
          <dd>
            <Id value={entry.grantId} />
          </dd>
          <dt>Privacy request</dt>
          <dd>
            <Id value={entry.privacyRequestId} />
          </dd>
          <dt>Session</dt>
          <dd>
            <Id value={entry.sessionId} />
          </dd>
          <dt>Purpose</dt>
          <dd>{entry.purpose ?? <span className="muted">—</span>}</dd>
          <dt>Client address</dt>
          <dd>{entry.client.address ?? <span className="muted">—</span>}</dd>
          <dt>Client user agent</dt>
          <dd>{entry.client.userAgent ?? <span className="muted">—</span>}</dd>
        </dl>
      </section>
      <section className="panel" aria-labelledby="content-title">
        <h2 id="content-title" className="panel-heading">
          Content as recorded
        </h2>
        {entry.invalid ? (
          <p className="form-error" role="alert" data-testid="entry-invalid">
            Not a valid entry of the catalogue ({entry.invalid}). It is kept in the log as the bytes
            that were queued, shown below as a quoted string; its searchable columns are empty and
            security reviewers were alerted.
          </p>
        ) : null}
        {entry.purgedBy !== null ? (
          <p data-testid="entry-purged">
            Contents removed by retention policy (purge run {entry.purgedBy}): the entry was older
            than the audit trail&rsquo;s retention period. Its leaf hash stays in the log, so the
            tree and the checkpoints still verify; the log records the purge in an{' '}
            <code>audit.contents_purged</code> entry.
          </p>
        ) : null}
        {entry.invalid || entry.purgedBy !== null ? null : (
          <p className="muted">
            The entry is stored as canonical JSON ({entry.bytes} bytes); its leaf hash is computed
            over those exact bytes. Shown here indented for reading.
          </p>
        )}
        {entry.purgedBy !== null ? null : (
          <pre className="code-block" data-testid="entry-body">
            {entry.pretty}
          </pre>
        )}
      </section>
      <section className="panel" aria-labelledby="proof-title">
        <h2 id="proof-title" className="panel-heading">
          Tamper evidence
        </h2>
        <dl className="facts">
          <dt>Leaf hash</dt>
          <dd>
            <code data-testid="leaf-hash">{leafHash}</code>
            <br />
            <code className="muted">{leafHashHex}</code>
          </dd>
          <dt>Matches the stored leaf</dt>
          <dd>
            {storedLeafMatches === null ? (
              <span className="muted">no leaf stored for this entry</span>
            ) : (
              <YesNo yes={storedLeafMatches} label="leaf-matches" />
            )}
          </dd>
          {proof ? (
            <>
              <dt>Covering checkpoint</dt>
              <dd>
                tree size {proof.treeSize}, signed {utc(proof.createdAt, 'second')}
              </dd>
              <dt>Checkpoint signature</dt>
              <dd>
                <YesNo yes={proof.signature.valid} label="signature-valid" />
                {proof.signature.problem ? (
                  <span className="field-error"> {proof.signature.problem}</span>
                ) : (
                  <span className="muted"> signed by a trusted key</span>
                )}
              </dd>
              <dt>Root hash</dt>
              <dd>
                <code>{proof.root}</code>
              </dd>
              <dt>Proof verifies</dt>
              <dd>
                <YesNo yes={proof.verifies} label="proof-verifies" />{' '}
                <span className="muted">
                  {proof.verifies
                    ? 'the leaf hash and the proof rebuild the checkpoint’s root'
                    : 'the leaf hash and the proof do not rebuild the checkpoint’s root'}
                </span>
              </dd>
            </>
          ) : null}
        </dl>
        {proof ? (
          <>
            <h3>Inclusion proof (RFC 9162, {proof.hashes.length} hashes)</h3>
            {proof.hashes.length ? (
              <ol data-testid="proof-hashes">
                {proof.hashes.map((h, i) => (
                  <li key={`${i}-${h}`}>
                    <code>{h}</code>
                  </li>
                ))}
              </ol>
            ) : (
              <p className="muted">
                None needed: this entry is the only one in the checkpoint’s tree.
              </p>
            )}
            <h3>Checkpoint note</h3>
            <pre className="code-block" data-testid="checkpoint-note">
              {proof.note}
            </pre>
          </>
        ) : (
          <p className="notice" role="status" data-testid="not-covered">
            This entry is not yet covered by a signed checkpoint, so there is no inclusion proof for
            it yet. Checkpoints are signed every few seconds while entries arrive; reload this page
            shortly.
          </p>
        )}
      </section>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
