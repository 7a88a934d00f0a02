import { defineJob } from '#app/modules/jobs/queue.server.ts';
import { z } from 'zod';
import { buildPackage, EXPIRY_JOB, expireExportPackages } from './package.server.ts';
import type { WorkContext } from './work.server.ts';

// Carrying out access and portability: the package (a ZIP of the user's data, package.server.ts)
// is built, stored encrypted under the user's key, and linked; the request completes in the same
// transaction that makes the package ready and queues the completion message with its link.

export async function carryOutExport(ctx: WorkContext): Promise<void> {
  await buildPackage(ctx);
}

/** Expired packages are deleted every quarter of an hour (and at any read past their expiry). */
export const exportExpiryJob = defineJob({
  name: EXPIRY_JOB,
  description: 'Deletes access and portability packages past their expiry',
  payload: z.object({}).loose(),
  cron: '*/15 * * * *',
  run: async () => {
    await expireExportPackages();
  },
});
