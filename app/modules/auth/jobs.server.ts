import { z } from 'zod';
import { defineJob } from '#app/modules/jobs/queue.server.ts';
import { purgeExpiredPendingSignIns } from './factors.server.ts';

// Expired sessions and throttle records are retention policies now (ADR 032). A pending sign-in
// (the password given, the second factor not yet, ADR 035) is protocol state that lives five
// minutes and is refused once expired; this job only keeps the table small.
export const pendingSignInHousekeeping = defineJob({
  name: 'auth.pending_sign_ins',
  description: 'Deletes pending sign-ins (password given, second factor not) past their 5 minutes',
  payload: z.object({}).passthrough(),
  cron: '*/10 * * * *',
  async run() {
    return { pendingSignIns: await purgeExpiredPendingSignIns() };
  },
});
