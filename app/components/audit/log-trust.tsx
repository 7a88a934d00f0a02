import type { LogTrust } from '#app/modules/audit/trust.ts';

/** The log's verifier key and fingerprint, and where its checkpoints are published. */
export function LogTrustPanel({ trust }: { trust: LogTrust }) {
  const nowhere = !trust.publishedDir && !trust.publishedToCommand;
  return (
    <section className="panel spaced-top" aria-labelledby="trust-title">
      <h2 id="trust-title" className="panel-heading">
        The log’s key
      </h2>
      <p>
        An exported bundle proves nothing by itself: whoever holds it can rewrite it and sign it
        again with a key of their own. Auditors check it against this key, which they should get
        from you by another channel than the bundle (read the fingerprint to them, or hand them the
        output of <code>npx custodian audit key</code>), with{' '}
        <code>node verify.mjs --key KEY DIR</code>.
      </p>
      <dl className="facts">
        <dt>Fingerprint</dt>
        <dd data-testid="log-key-fingerprint">
          <code>{trust.fingerprint}</code>
        </dd>
        <dt>Verifier key</dt>
        <dd data-testid="log-key">
          <code>{trust.key}</code>
        </dd>
        <dt>Checkpoints published to</dt>
        <dd data-testid="published-to">
          {nowhere ? (
            'nowhere outside the database'
          ) : (
            <>
              {trust.publishedDir ? (
                <>
                  <code>{trust.publishedDir}</code>
                  {trust.publishedDirIsDefault ? ' (the embedded default)' : null}
                </>
              ) : null}
              {trust.publishedDir && trust.publishedToCommand ? ' and ' : null}
              {trust.publishedToCommand ? 'a command (CUSTODIAN_AUDIT_CHECKPOINT_COMMAND)' : null}
            </>
          )}
        </dd>
      </dl>
      {nowhere ? (
        <p className="warning" role="status" data-testid="publishing-warning">
          Checkpoints are published nowhere outside the database: whoever controls the database can
          cut the log together with its stored checkpoints, and verification will not notice. Set{' '}
          <code>CUSTODIAN_AUDIT_CHECKPOINT_DIR</code> or{' '}
          <code>CUSTODIAN_AUDIT_CHECKPOINT_COMMAND</code>.
        </p>
      ) : null}
    </section>
  );
}
