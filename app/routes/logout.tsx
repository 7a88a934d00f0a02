import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node';
import { redirect } from '@remix-run/node';
import { guard, isSecure } from '#app/utils/guard.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { clearedSessionCookie, signOut } from '#app/modules/auth/session.server.ts';

export const access = signedIn({ whilePasswordChangeDue: true, whileSecondFactorDue: true });

// Sign-out is a POST (a link or prefetch must not sign anyone out).
export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  return redirect('/');
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  await signOut(me);
  return redirect('/login', {
    headers: { 'Set-Cookie': clearedSessionCookie(isSecure(args.context)) },
  });
}
