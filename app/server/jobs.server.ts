import { grantExpiryJob } from '#app/modules/access/jobs.server.ts';
import { analyticsBuildJob } from '#app/modules/analytics/build.server.ts';
import { auditVerifyJob } from '#app/modules/audit/runs.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { pendingSignInHousekeeping } from '#app/modules/auth/jobs.server.ts';
import type { JobDefinition } from '#app/modules/jobs/queue.server.ts';
import { privacyOutboxJob } from '#app/modules/privacy/outbox.server.ts';
import { exportExpiryJob } from '#app/modules/privacy/export.server.ts';
import { privacyResumeJob, privacyWorkJob } from '#app/modules/privacy/work.server.ts';
import { retentionPurgeJob } from '#app/modules/retention/jobs.server.ts';

// The job catalogue: where the capabilities' jobs meet the one queue. It lives with the server's
// start-up, above the modules, because it depends on all of them while each of them depends on
// the queue alone (no cycle between modules: ADR 009).

/** Every job Custodian knows. Later capabilities add theirs here. */
export const JOBS: JobDefinition[] = [
  auditVerifyJob((staffId, tx) => staffActor(staffId, {}, tx)),
  grantExpiryJob,
  analyticsBuildJob,
  privacyWorkJob,
  privacyResumeJob,
  privacyOutboxJob,
  exportExpiryJob,
  retentionPurgeJob,
  pendingSignInHousekeeping,
];
