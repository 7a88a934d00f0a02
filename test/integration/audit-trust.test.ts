import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flushAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  decodeEntities,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { resetEnvForTests } from '#app/config.server.ts';
import { loadAuditKeys } from '#app/modules/audit/keys.server.ts';
import {
  formatCheckpoint,
  keyFingerprint,
  signNote,
  verifierKeyFor,
} from '#app/modules/audit/note.ts';
import { setCheckpointPublishing } from '#app/modules/audit/publishing.server.ts';
import { latestVerificationRun, startVerificationRun } from '#app/modules/audit/runs.server.ts';
import { startQueue } from '#app/modules/jobs/queue.server.ts';
import { JOBS } from '#app/server/jobs.server.ts';

// What /audit/verify tells about trust: the log's key and its fingerprint (what auditors compare
// with the key they were given), and where checkpoints are published, with a warning when they go
// nowhere outside the database; and a console verification run reads the published folder.

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-audit-trust-'));
process.env.CUSTODIAN_DATA_DIR = DATA_DIR;
delete process.env.CUSTODIAN_AUDIT_CHECKPOINT_DIR;
delete process.env.CUSTODIAN_AUDIT_CHECKPOINT_COMMAND;
resetEnvForTests();
const ORIGIN = 'custodian.local/audit';

useTestDatabase();

let server: TestServer;
let cookie: string;
let auditorId: string;

beforeAll(async () => {
  server = await startTestServer();
  const auditor = await createStaffWithRoles(['security_auditor']);
  auditorId = auditor.id;
  cookie = await signInAs(server.baseUrl, auditor.email, auditor.password);
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

async function verifyPage() {
  const response = await fetchAs(cookie, '/audit/verify');
  const html = decodeEntities(await response.text());
  expect(response.status).toBe(200);
  return html;
}

describe('/audit/verify and the log’s key', () => {
  it('shows the verifier key and its fingerprint', async () => {
    const keys = loadAuditKeys({ dataDir: DATA_DIR, production: false, origin: ORIGIN });
    const key = verifierKeyFor(keys.signer);
    const html = await verifyPage();
    expect(html).toMatch(
      new RegExp(`data-testid="log-key-fingerprint"><code>${keyFingerprint(key)}</code>`),
    );
    expect(html).toContain(`<code>${key}</code>`);
  });

  it('warns when checkpoints are published nowhere outside the database', async () => {
    // The test database comes from DATABASE_URL: not the embedded default, nothing configured.
    const html = await verifyPage();
    expect(html).toContain('data-testid="publishing-warning"');
    expect(html).toMatch(/data-testid="published-to">nowhere outside the database/);
  });

  it('shows the folder checkpoints are published to, and a run checks it', async () => {
    const published = path.join(DATA_DIR, 'checkpoints');
    setCheckpointPublishing({ dir: published, dirIsDefault: true });
    try {
      const html = await verifyPage();
      expect(html).not.toContain('publishing-warning');
      expect(html).toContain(`<code>${published}</code> (the embedded default)`);

      // A published checkpoint of a longer log than the database holds: the log was cut.
      await flushAudit();
      const keys = loadAuditKeys({ dataDir: DATA_DIR, production: false, origin: ORIGIN });
      fs.mkdirSync(published, { recursive: true });
      const note = signNote(
        formatCheckpoint({
          origin: ORIGIN,
          size: 1_000,
          rootHash: Buffer.alloc(32, 7),
          timestamp: new Date(),
        }),
        keys.signer,
      );
      fs.writeFileSync(path.join(published, 'checkpoint-000000001000.txt'), note);
      const queue = await startQueue({
        url: process.env.DATABASE_URL!,
        jobs: JOBS,
        concurrency: 1,
      });
      let result;
      try {
        const { id } = await startVerificationRun(auditorId);
        await expect
          .poll(async () => (await latestVerificationRun())?.finishedAt ?? null, {
            timeout: 60_000,
            interval: 100,
          })
          .not.toBeNull();
        const run = await latestVerificationRun();
        expect(run?.id).toBe(id);
        result = run?.result;
      } finally {
        await queue.stop();
      }
      expect(result?.problems.map((p) => [p.kind, p.message])).toContainEqual([
        'truncated',
        expect.stringMatching(/^published checkpoint-000000001000\.txt covers 1000 entries/),
      ]);
    } finally {
      setCheckpointPublishing(undefined as never);
    }
  });
});
