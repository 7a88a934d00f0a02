import type { WorkContext } from './work.server.ts';

// Carrying out erasure: the user's rows removed, the key destroyed, the certificate signed.
// (Not built yet: the work fails, so the request shows as failed and can be retried once it is.)

export async function carryOutErasure(ctx: WorkContext): Promise<void> {
  await Promise.resolve();
  throw new Error(`carrying out a ${ctx.type} request is not built yet`);
}

/** Whether this user id belonged to a user who was erased (their tombstone). */
export async function isErased(userId: string): Promise<boolean> {
  await Promise.resolve(userId);
  return false;
}
