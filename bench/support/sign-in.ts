import { SESSION_COOKIE, PENDING_COOKIE } from '#app/modules/auth/session.server.ts';
import { totpCode } from '#app/modules/auth/factors.server.ts';

// A bench signs in as a browser does: the password, then, for an account with an authenticator
// app (every role beyond finding users and asking for grants, ADR 035), its code now (the bench
// runs the console in its own process, so both read the same clock).

function cookieOf(response: Response, name: string) {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith(`${name}=`) && pair.length > name.length + 1);
}

/** The session cookie pair, or an error naming the step that failed. */
export async function benchSignIn(
  baseUrl: string,
  email: string,
  password: string,
  totpSecret?: string,
): Promise<string> {
  let response = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    body: new URLSearchParams({ email, password }),
    headers: { origin: baseUrl },
    redirect: 'manual',
  });
  const pending = cookieOf(response, PENDING_COOKIE);
  if (pending) {
    if (!totpSecret) throw new Error(`bench: ${email} has a second factor and no secret was given`);
    response = await fetch(`${baseUrl}/login/second-factor`, {
      method: 'POST',
      body: new URLSearchParams({ code: totpCode(totpSecret) }),
      headers: { origin: baseUrl, cookie: pending },
      redirect: 'manual',
    });
  }
  const cookie = cookieOf(response, SESSION_COOKIE);
  if (!cookie) throw new Error(`bench: sign-in failed with HTTP ${response.status}`);
  return cookie;
}
