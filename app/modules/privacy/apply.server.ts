import type { WorkContext } from './work.server.ts';

// Carrying out rectification, restriction and objection: the change applied.
// (Not built yet: the work fails, so the request shows as failed and can be retried once it is.)

export async function carryOutChange(ctx: WorkContext): Promise<void> {
  await Promise.resolve();
  throw new Error(`carrying out a ${ctx.type} request is not built yet`);
}
