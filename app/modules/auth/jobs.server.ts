import { lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { getDb } from '#app/db/client.server.ts';
import { signInThrottle } from '#app/db/schema.ts';
import { now } from '#app/modules/clock.server.ts';
import { defineJob } from '#app/modules/jobs/queue.server.ts';
import { purgeExpiredSessions } from './session.server.ts';
import { THROTTLE } from './throttle.server.ts';
import { purgeExpiredPendingSignIns } from './factors.server.ts';

export const sessionHousekeeping = defineJob({
  name: 'auth.housekeeping',
  description:
    'Deletes expired sessions, expired pending sign-ins and stale sign-in throttle counters',
  payload: z.object({}).passthrough(),
  cron: '*/10 * * * *',
  async run() {
    const sessions = await purgeExpiredSessions();
    const pendingSignIns = await purgeExpiredPendingSignIns();
    const cutoff = new Date(now().getTime() - 2 * THROTTLE.windowMs);
    const throttles = await getDb()
      .delete(signInThrottle)
      .where(
        sql`${lt(signInThrottle.lastFailureAt, cutoff)} and (${signInThrottle.lockedUntil} is null or ${signInThrottle.lockedUntil} < ${now().toISOString()})`,
      )
      .returning({ key: signInThrottle.key });
    return { sessions, pendingSignIns, throttles: throttles.length };
  },
});
