import { getDb } from '#app/db/client.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { rectifyProfile, setPurposePreferences } from '#app/modules/users/data.server.ts';
import type { Purpose } from '#app/modules/vocabulary.ts';
import { queueUserMessage } from './outbox.server.ts';
import { getRequest, moveRequest, requestDetails } from './requests.server.ts';
import type { WorkContext } from './work.server.ts';

// Carrying out rectification, restriction and objection (ADR 027): the change, its audit entries,
// the completion message and the move to completed, all in one transaction. A crash before it
// commits leaves nothing; a rerun writes the same values again (the profile's fields are set,
// not appended to; a preference already at its value gets no new history line).

export async function carryOutChange(ctx: WorkContext): Promise<void> {
  if (ctx.type === 'rectification') return rectify(ctx);
  if (ctx.type === 'restriction' || ctx.type === 'objection') return optOut(ctx);
  throw new Error(`A ${ctx.type} request is not a change`);
}

async function rectify(ctx: WorkContext) {
  const details = await requestDetails(ctx.requestId);
  if (!details || typeof details !== 'object') {
    throw new Error('The requested values cannot be read (the user’s key is gone)');
  }
  const changes = details as Partial<Record<string, string>>;
  const total = Object.keys(changes).length;
  await getDb().transaction(async (tx) => {
    await ctx.progress('applying the new values', 0, total, tx);
    const fields = await rectifyProfile(tx, ctx.userId, changes);
    await recordAudit(
      ctx.actor,
      {
        action: 'privacy.rectify',
        outcome: 'allowed',
        userId: ctx.userId,
        privacyRequestId: ctx.requestId,
        details: { fields },
      },
      tx,
    );
    await ctx.progress('applied', total, total, tx);
    await queueUserMessage(tx, {
      userId: ctx.userId,
      requestId: ctx.requestId,
      template: 'completion',
    });
    await moveRequest(ctx.requestId, { kind: 'complete' }, ctx.actor, { tx });
  });
}

/** A restriction (opt-out) or an objection: the purposes it names are no longer allowed. */
async function optOut(ctx: WorkContext) {
  const { request } = await getRequest(ctx.requestId);
  const purposes = request.purposes as Purpose[];
  await getDb().transaction(async (tx) => {
    await ctx.progress('setting preferences', 0, purposes.length, tx);
    const changed = await setPurposePreferences(tx, ctx.userId, purposes, false, now());
    for (const purpose of changed) {
      await recordAudit(
        ctx.actor,
        {
          action: 'preferences.change',
          outcome: 'allowed',
          userId: ctx.userId,
          privacyRequestId: ctx.requestId,
          details: { purpose, allowed: false },
        },
        tx,
      );
    }
    await ctx.progress('preferences set', purposes.length, purposes.length, tx);
    await queueUserMessage(tx, {
      userId: ctx.userId,
      requestId: ctx.requestId,
      template: 'completion',
    });
    await moveRequest(ctx.requestId, { kind: 'complete' }, ctx.actor, { tx });
  });
}
