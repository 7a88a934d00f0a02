import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';
import { redirect } from '@remix-run/node';
import { guard, requestContext } from '#app/modules/auth/access.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { getDb } from '#app/db/client.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { clearedSessionCookie, destroySession } from '#app/modules/auth/session.server.ts';

export const access = signedIn({ whilePasswordChangeDue: true });

// Sign-out is a POST (a link or prefetch must not sign anyone out).
export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  return redirect('/');
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const ctx = requestContext(args.context);
  await getDb().transaction(async (tx) => {
    await destroySession(me.sessionId, tx);
    await recordAudit(
      {
        action: 'auth.sign_out',
        outcome: 'allowed',
        actor: { staffId: me.staffId, roles: me.roles },
        subjectStaffId: me.staffId,
        sessionId: me.sessionId,
        details: {},
        client: { address: ctx.clientAddress || null, userAgent: ctx.userAgent },
      },
      tx,
    );
  });
  return redirect('/login', { headers: { 'Set-Cookie': clearedSessionCookie(ctx.secure) } });
}
