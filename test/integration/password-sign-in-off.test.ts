import { resetEnvForTests } from '#app/config.server.ts';
import { lastSeq, readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  pageText,
  postForm,
  sessionCookieOf,
  startTestServer,
  type TestServer,
} from '../support/http.ts';

// ADR 038: CUSTODIAN_PASSWORD_SIGN_IN=off leaves only single sign-on. Set before the server
// build first reads the environment (this file runs in its own process).
process.env.CUSTODIAN_PASSWORD_SIGN_IN = 'off';
resetEnvForTests();

useTestDatabase();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
  delete process.env.CUSTODIAN_PASSWORD_SIGN_IN;
});

describe('CUSTODIAN_PASSWORD_SIGN_IN=off', () => {
  it('refuses a password with 403 naming it, before checking it; recorded; no session', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const before = await lastSeq();
    const response = await postForm(null, '/login', {
      email: agent.email,
      password: agent.password,
    });
    expect(response.status).toBe(403);
    expect(sessionCookieOf(response)).toBeUndefined();
    expect(await pageText(response)).toContain('Password sign-in is turned off');
    const entries = await readAudit(before);
    expect(entries.map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.sign_in', 'denied', { reason: 'password_sign_in_off' }],
    ]);
  });

  it('the sign-in page says to use single sign-on and shows no password form', async () => {
    const page = await pageText(await fetchAs(null, '/login'));
    expect(page).toContain('Password sign-in is turned off for this console');
    expect(page).toContain('single sign-on');
    expect(page).not.toContain('name="password"');
  });
});
