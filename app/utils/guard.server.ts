import { json, redirect } from '@remix-run/node';
import type { AppLoadContext } from '@remix-run/node';
import { holdsDeclared, type StaffAccess } from '#app/modules/auth/access.ts';
import type { Client, StaffActor, VisitorActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { findSignedIn } from '#app/modules/auth/session.server.ts';
import { sameOriginPath } from './paths.ts';
import { env } from '#app/config.server.ts';
import { now } from '#app/modules/clock.server.ts';

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
 * Whether the browser says the request comes from another site (a link or a form elsewhere).
 * Without the header (scripts, the command line, old browsers) it is judged as before.
 */
export function isCrossSite(request: Request): boolean {
  return request.headers.get('Sec-Fetch-Site') === 'cross-site';
}

/** What a cross-site request for a page that acts on GET is answered with (ADR 020). */
export interface CrossSiteRefusal {
  kind: 'cross-site';
  message: string;
  continueTo: string;
}

function crossSiteRefusal(request: Request): never {
  const url = new URL(request.url);
  const refusal: CrossSiteRefusal = {
    kind: 'cross-site',
    message:
      'This page was opened from another site. Opening it records what you see in the audit trail in your name, so the console does not open it for a link from elsewhere. Nothing has been recorded.',
    continueTo: sameOriginPath(`${url.pathname}${url.search}`) ?? '/',
  };
  throw json(refusal, { status: 403 });
}

/**
 * Every loader and action begins with it, passing its route's declared `access`. It reads the
 * session, roles and permissions from the database on every request and returns the staff
 * member as the Actor every module takes; a public route gets null when nobody is signed in.
 */
export async function guard(
  args: GuardArgs,
  access: StaffAccess & { kind: 'public' },
): Promise<StaffActor | null>;
export async function guard(args: GuardArgs, access: StaffAccess): Promise<StaffActor>;
export async function guard(args: GuardArgs, access: StaffAccess): Promise<StaffActor | null> {
  const crossSite = isCrossSite(args.request);
  // Before anything is read or written: a link on another site must not act in anyone's name.
  if (access.kind !== 'public' && access.writesOnGet && crossSite) crossSiteRefusal(args.request);
  const session = await findSignedIn(args.request, {
    activity: access.kind === 'public' || !access.background,
  });
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
  // An account that must have a second factor and has none opens nothing else until it enrols.
  if (actor.secondFactorDue && !access.whileSecondFactorDue) {
    throw redirect('/account/security');
  }
  if (!holdsDeclared(access, actor.permissions)) {
    const needed = access.kind === 'permission' ? access.permission : undefined;
    const anyOf = access.kind === 'any-permission' ? access.permissions : [];
    const named = needed ?? anyOf.join(' or ');
    const message = `Your roles do not include the permission this page needs (${named}).`;
    // A link on another site is not the staff member's attempt: refused, not recorded in their
    // name (ADR 020).
    if (crossSite) throw json({ message, permission: named }, { status: 403 });
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
    throw json({ message, permission: named }, { status: 403 });
  }
  return actor;
}

/** The actions that ask for the second factor again when the last one is old (ADR 035). */
export type StepUpAction =
  | 'grant.approve'
  | 'grant.break_glass'
  | 'privacy.approve'
  | 'staff.role_approve'
  | 'policy.change'
  | 'audit.export'
  | 'factor.manage';

/** What a refused step-up answers: the page explains it and links to the confirmation. */
export interface StepUpRefusal {
  kind: 'step-up';
  message: string;
  verifyAt: string;
}

/**
 * Step-up: the riskiest actions need a second factor proved within CUSTODIAN_STEP_UP_SECONDS
 * in this session. Otherwise the refusal is recorded (law 3) and answered 403 with the address
 * of the confirmation page, which sends the staff member back to `returnTo`.
 */
export async function requireRecentSecondFactor(
  actor: StaffActor,
  action: StepUpAction,
  returnTo: string,
): Promise<void> {
  const at = actor.secondFactorAt?.getTime();
  const maxAgeMs = env().CUSTODIAN_STEP_UP_SECONDS * 1000;
  if (at !== undefined && now().getTime() - at <= maxAgeMs) return;
  await recordAudit(actor, {
    action: 'auth.step_up',
    outcome: 'denied',
    subjectStaffId: actor.staffId,
    details: { for: action, reason: at === undefined ? 'no_factor' : 'stale_factor' },
  });
  const refusal: StepUpRefusal = {
    kind: 'step-up',
    message:
      'This action asks for your second factor again: confirm it with a code from your authenticator app, then do it once more.',
    verifyAt: `/account/verify?redirectTo=${encodeURIComponent(sameOriginPath(returnTo) ?? '/')}`,
  };
  throw json(refusal, { status: 403 });
}
