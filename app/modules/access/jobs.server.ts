import { z } from 'zod';
import { defineJob } from '#app/modules/jobs/queue.server.ts';
import { expireDue } from './grants.server.ts';

export const grantExpiryJob = defineJob({
  name: 'access.expire',
  description: 'Expires grant requests nobody decided within 24 hours and grants past their end',
  payload: z.object({}).passthrough(),
  cron: '* * * * *',
  run: () => expireDue(),
});
