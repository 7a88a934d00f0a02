import { json, redirect } from '@remix-run/node';
import type { AppLoadContext } from '@remix-run/node';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { findSignedIn, type RequestContext, type SignedIn } from './session.server.ts';
import type { Access } from './access.ts';

export type { Access } from './access.ts';

export interface GuardArgs {
  request: Request;
  context: AppLoadContext;
}

export function requestContext(context: AppLoadContext): RequestContext {
  return {
    clientAddress: context.clientAddress ?? '',
    userAgent: context.userAgent ?? '',
    secure: context.secure ?? false,
  };
}

function signInRedirect(request: Request) {
  const url = new URL(request.url);
  const back = `${url.pathname}${url.search}`;
  return redirect(`/login?redirectTo=${encodeURIComponent(back)}`);
}

/**
 * The one permission check. Every loader and action begins with it, passing its route's declared
 * `access`; it reads the session, roles and permissions from the database on every request.
 */
export async function guard(
  args: GuardArgs,
  access: Access & { kind: 'public' },
): Promise<SignedIn | null>;
export async function guard(args: GuardArgs, access: Access): Promise<SignedIn>;
export async function guard(args: GuardArgs, access: Access): Promise<SignedIn | null> {
  const signedIn = await findSignedIn(args.request);
  if (access.kind === 'public') return signedIn;
  if (!signedIn) throw signInRedirect(args.request);
  if (signedIn.mustChangePassword && !access.whilePasswordChangeDue) {
    throw redirect('/account/password');
  }
  if (access.kind === 'permission' && !signedIn.permissions.has(access.permission)) {
    // Law 3: a refused attempt is recorded too, and committed before the refusal is sent.
    const context = requestContext(args.context);
    await recordAudit({
      action: 'access.denied',
      outcome: 'denied',
      actor: { staffId: signedIn.staffId, roles: signedIn.roles },
      sessionId: signedIn.sessionId,
      client: { address: context.clientAddress || null, userAgent: context.userAgent || null },
      details: {
        reason: 'missing_permission',
        permission: access.permission,
        route: new URL(args.request.url).pathname.slice(0, 200),
      },
    });
    throw json(
      {
        message: `Your roles do not include the permission this page needs (${access.permission}).`,
        permission: access.permission,
      },
      { status: 403 },
    );
  }
  return signedIn;
}
