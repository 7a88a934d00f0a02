import { json, redirect } from '@remix-run/node';
import type { AppLoadContext } from '@remix-run/node';
import { holdsDeclared, type Access } from '#app/modules/auth/access.ts';
import type { Client, StaffActor, VisitorActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { findSignedIn } from '#app/modules/auth/session.server.ts';

// The one permission check, and the one place a request becomes an Actor (ADR 015). It speaks
// HTTP (it redirects and refuses), so it lives beside the routes, not in a domain module.

export interface GuardArgs {
  request: Request;
  context: AppLoadContext;
}

/** Where the request came from, as the HTTP layer saw it (app/server/http.server.ts). */
export function clientOf(context: AppLoadContext): Client {
  return { address: context.clientAddress || null, userAgent: context.userAgent || null };
}

/** Whether the console answers over HTTPS (Secure cookies). */
export function isSecure(context: AppLoadContext): boolean {
  return context.secure ?? false;
}

/** Someone who is not signed in (a sign-in attempt). */
export function visitor(args: GuardArgs): VisitorActor {
  return { kind: 'visitor', client: clientOf(args.context) };
}

function signInRedirect(request: Request) {
  const url = new URL(request.url);
  const back = `${url.pathname}${url.search}`;
  return redirect(`/login?redirectTo=${encodeURIComponent(back)}`);
}

/**
 * Every loader and action begins with it, passing its route's declared `access`. It reads the
 * session, roles and permissions from the database on every request and returns the staff
 * member as the Actor every module takes; a public route gets null when nobody is signed in.
 */
export async function guard(
  args: GuardArgs,
  access: Access & { kind: 'public' },
): Promise<StaffActor | null>;
export async function guard(args: GuardArgs, access: Access): Promise<StaffActor>;
export async function guard(args: GuardArgs, access: Access): Promise<StaffActor | null> {
  const session = await findSignedIn(args.request);
  const actor: StaffActor | null = session && {
    kind: 'staff',
    ...session,
    client: clientOf(args.context),
  };
  if (access.kind === 'public') return actor;
  if (!actor) throw signInRedirect(args.request);
  if (actor.mustChangePassword && !access.whilePasswordChangeDue) {
    throw redirect('/account/password');
  }
  if (!holdsDeclared(access, actor.permissions)) {
    const needed = access.kind === 'permission' ? access.permission : undefined;
    const anyOf = access.kind === 'any-permission' ? access.permissions : [];
    // Law 3: a refused attempt is recorded too, and committed before the refusal is sent.
    await recordAudit(actor, {
      action: 'access.denied',
      outcome: 'denied',
      details: {
        reason: 'missing_permission',
        ...(needed ? { permission: needed } : { permissions: [...anyOf] }),
        route: new URL(args.request.url).pathname.slice(0, 200),
      },
    });
    const named = needed ?? anyOf.join(' or ');
    throw json(
      {
        message: `Your roles do not include the permission this page needs (${named}).`,
        permission: named,
      },
      { status: 403 },
    );
  }
  return actor;
}
